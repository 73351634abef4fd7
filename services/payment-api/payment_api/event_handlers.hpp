#pragma once
// What payment-api does with the events it consumes (group payment-api), inside the
// batch's transaction with their event ids recorded (events::apply_exactly_once), the
// projection's rows with one statement per kind over the batch:
//
//   order.created             -> the order becomes payable (projection)
//   order.cancelled           -> it is not payable any more
//   payment.refund-requested  -> the payment is refunded: wallet credited, payment.refunded
//
// Delivery is at least once; the processed-events record makes each effect happen once.

#include "events/consumer_runtime.hpp"
#include "events/idempotency.hpp"

namespace paypipe::payment_api {

core::Status apply_events(pg::Transaction& tx, std::span<const events::ConsumedEvent* const> events);

}  // namespace paypipe::payment_api
