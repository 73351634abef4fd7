#pragma once
// The data of an `order.refunded` event (proto/events/order.refunded.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of order.refunded use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct OrderRefunded;
// invalid_input naming every bad field.
core::Result<OrderRefunded> decode_order_refunded(std::string_view json);

// The refund saga of an order is over: its payment went back to the wallet. Refunds are
// of whole orders (docs/architecture.md says why not by line), so `items` are the order's.
struct OrderRefunded {
  static constexpr std::string_view type = "dev.paypipe.order.refunded.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_order_refunded;
  std::string order_id;
  std::string user_id;
  std::vector<OrderItem> items;
  std::int64_t total_amount = 0;  // minor units
  std::string currency;
  std::string payment_id;
  std::string reason;  // ORDER_CANCELLED | ORDER_EXPIRED | USER_REQUESTED | ADMIN_REFUND
  std::string refunded_at;  // RFC 3339
};

std::string encode(const OrderRefunded& data);

}  // namespace paypipe::contracts
