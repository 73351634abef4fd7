#pragma once
// What payment-api does with the events it consumes (group payment-api), each inside
// the batch's transaction with its event id recorded (events::apply_exactly_once):
//
//   order.created             -> the order becomes payable (projection)
//   order.cancelled           -> it is not payable any more
//   payment.refund-requested  -> the payment is refunded: wallet credited, payment.refunded
//
// Delivery is at least once; the processed-events record makes each effect happen once.

#include "events/consumer_runtime.hpp"
#include "events/idempotency.hpp"

namespace paypipe::payment_api {

core::Status apply_event(pg::Transaction& tx, const events::ConsumedEvent& event);

}  // namespace paypipe::payment_api
