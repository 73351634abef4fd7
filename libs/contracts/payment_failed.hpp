#pragma once
// The data of a `payment.failed` event (proto/events/payment.failed.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of payment.failed use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct PaymentFailed;
// invalid_input naming every bad field.
core::Result<PaymentFailed> decode_payment_failed(std::string_view json);

struct PaymentFailed {
  static constexpr std::string_view type = "dev.paypipe.payment.failed.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_payment_failed;
  std::string payment_id;
  std::string order_id;
  std::string user_id;
  std::int64_t amount = 0;  // minor units
  std::string currency;
  std::string reason;  // INSUFFICIENT_FUNDS
  std::string failed_at;  // RFC 3339
};

std::string encode(const PaymentFailed& data);

}  // namespace paypipe::contracts
