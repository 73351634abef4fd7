#pragma once
// The data of a `payment.completed` event (proto/events/payment.completed.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of payment.completed use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct PaymentCompleted;
// invalid_input naming every bad field.
core::Result<PaymentCompleted> decode_payment_completed(std::string_view json);

struct PaymentCompleted {
  static constexpr std::string_view type = "dev.paypipe.payment.completed.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_payment_completed;
  std::string payment_id;
  std::string order_id;
  std::string user_id;
  std::int64_t amount = 0;  // minor units
  std::string currency;
  std::string completed_at;  // RFC 3339
};

std::string encode(const PaymentCompleted& data);

}  // namespace paypipe::contracts
