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
  // What a message says about the line; optional, so records written before them (and
  // producers that do not know them) stay valid. Initialised, so {id, quantity, price}
  // still initialises every field (-Wmissing-field-initializers).
  std::optional<std::string> name = std::nullopt;        // the product's name
  // tickets: the event's date (YYYY-MM-DD) or date and time (RFC 3339), as the product gives it
  std::optional<std::string> event_date = std::nullopt;
  std::optional<std::string> venue = std::nullopt;       // tickets: where

  bool operator==(const OrderItem&) const = default;
};

// The same lines as ordered: product, quantity and unit price, line by line; what a line
// is called (name, date, venue) aside, since a stored order also names its products.
bool same_lines(const std::vector<OrderItem>& a, const std::vector<OrderItem>& b);

void write_items(core::json::Writer& w, std::string_view name, const std::vector<OrderItem>& items);
std::vector<OrderItem> read_items(core::json::Reader& in, const char* name);
// A real calendar date written YYYY-MM-DD (leap years included).
bool is_calendar_date(std::string_view text);
// An optional field holding such a date.
std::optional<std::string> read_date(core::json::Reader& in, const char* name);
// An optional event date: a calendar date YYYY-MM-DD or an RFC 3339 date and time with
// its offset (the venue's local time), kept as given.
std::optional<std::string> read_event_date(core::json::Reader& in, const char* name);
// The calendar day of an event date, the venue's local date: its first ten characters
// (rankings per event date count by it).
std::string event_day(std::string_view event_date);
// Three upper-case letters (ISO 4217).
std::string read_currency(core::json::Reader& in, const char* name);

// What every event about a whole order opens with (order.created, order.completed,
// order.refunded): orderId, userId, items, totalAmount, currency, in this order on the
// wire. `Order` is the event's struct, which names these fields alike.
template <class Order>
void write_order_summary(core::json::Writer& w, const Order& order) {
  w.field("orderId", order.order_id);
  w.field("userId", order.user_id);
  write_items(w, "items", order.items);
  w.field("totalAmount", order.total_amount);
  w.field("currency", order.currency);
}

template <class Order>
void read_order_summary(core::json::Reader& in, Order& order) {
  order.order_id = in.uuid("orderId");
  order.user_id = in.text("userId", core::json::id_rule);
  order.items = read_items(in, "items");
  order.total_amount = in.integer("totalAmount", 0, max_amount);
  order.currency = read_currency(in, "currency");
}

}  // namespace paypipe::contracts
