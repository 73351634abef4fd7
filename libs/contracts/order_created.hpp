#pragma once
// The data of an `order.created` event (proto/events/order.created.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of order.created use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct OrderCreated;
// invalid_input naming every bad field.
core::Result<OrderCreated> decode_order_created(std::string_view json);

struct OrderCreated {
  static constexpr std::string_view type = "dev.paypipe.order.created.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_order_created;
  std::string order_id;
  std::string user_id;
  std::vector<OrderItem> items;
  std::int64_t total_amount = 0;  // minor units
  std::string currency;
  std::string fulfilment;  // SHIPPING | WAREHOUSE
  std::string expires_at;  // RFC 3339
  std::string created_at;  // RFC 3339
};

std::string encode(const OrderCreated& data);

}  // namespace paypipe::contracts
