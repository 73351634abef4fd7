#pragma once
// What several event contracts share: order lines, amounts, currencies.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace paypipe::contracts {

// Amounts are integers in minor units (KRW has none); 10^12 bounds every sum we make.
inline constexpr std::int64_t max_amount = 1'000'000'000'000;

struct OrderItem {
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t unit_price = 0;  // minor units
  // YYYY-MM-DD: the date of the event the product is a ticket for, when the product has
  // one. order-processor fills it from the product; a client never sets it.
  std::optional<std::string> event_date{};

  bool operator==(const OrderItem&) const = default;
};

// The same line ignoring what order-processor adds from the product (event_date).
bool same_line(const OrderItem& a, const OrderItem& b);

void write_items(core::json::Writer& w, std::string_view name, const std::vector<OrderItem>& items);
std::vector<OrderItem> read_items(core::json::Reader& in, const char* name);
// A real calendar date written YYYY-MM-DD (leap years included).
bool is_calendar_date(std::string_view text);
// An optional field holding such a date.
std::optional<std::string> read_date(core::json::Reader& in, const char* name);
// Three upper-case letters (ISO 4217).
std::string read_currency(core::json::Reader& in, const char* name);

}  // namespace paypipe::contracts
