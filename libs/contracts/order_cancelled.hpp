#pragma once
// The data of an `order.cancelled` event (proto/events/order.cancelled.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of order.cancelled use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct OrderCancelled;
// invalid_input naming every bad field.
core::Result<OrderCancelled> decode_order_cancelled(std::string_view json);

struct OrderCancelled {
  static constexpr std::string_view type = "dev.paypipe.order.cancelled.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_order_cancelled;
  std::string order_id;
  std::string user_id;
  std::string reason;  // PAYMENT_FAILED | EXPIRED | USER_CANCELLED
  std::vector<OrderItem> items;
  std::int64_t total_amount = 0;  // minor units
  std::string currency;
  std::string cancelled_at;  // RFC 3339
};

std::string encode(const OrderCancelled& data);

}  // namespace paypipe::contracts
