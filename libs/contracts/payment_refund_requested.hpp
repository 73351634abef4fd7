#pragma once
// The data of a `payment.refund-requested` event (proto/events/payment.refund-requested.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of payment.refund-requested use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct PaymentRefundRequested;
// invalid_input naming every bad field.
core::Result<PaymentRefundRequested> decode_payment_refund_requested(std::string_view json);

struct PaymentRefundRequested {
  static constexpr std::string_view type = "dev.paypipe.payment.refund-requested.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_payment_refund_requested;
  std::string payment_id;
  std::string order_id;
  std::string user_id;
  std::int64_t amount = 0;  // minor units
  std::string currency;
  std::string reason;  // ORDER_CANCELLED | ORDER_EXPIRED | USER_REQUESTED | ADMIN_REFUND
  std::string requested_at;  // RFC 3339
};

std::string encode(const PaymentRefundRequested& data);

}  // namespace paypipe::contracts
