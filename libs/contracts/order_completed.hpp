#pragma once
// The data of an `order.completed` event (proto/events/order.completed.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of order.completed use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct OrderCompleted;
// invalid_input naming every bad field.
core::Result<OrderCompleted> decode_order_completed(std::string_view json);

struct OrderCompleted {
  static constexpr std::string_view type = "dev.paypipe.order.completed.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_order_completed;
  std::string order_id;
  std::string user_id;
  std::vector<OrderItem> items;
  std::int64_t total_amount = 0;  // minor units
  std::string currency;
  std::string fulfilment;  // SHIPPING | WAREHOUSE
  std::string payment_id;
  std::string completed_at;  // RFC 3339
};

std::string encode(const OrderCompleted& data);

}  // namespace paypipe::contracts
