#pragma once
// What order-processor does with the events it consumes (group order-processor), each
// inside the batch's transaction with its event id recorded (events::exactly_once_handler):
//
//   payment.completed  PENDING_PAYMENT: paid and fulfilled as far as it goes at once, the
//                      hold becomes a sale, order.completed (+ product.sold-out);
//                      CANCELLED / EXPIRED: REFUND_REQUESTED, payment.refund-requested
//   payment.failed     PENDING_PAYMENT: CANCELLED (PAYMENT_FAILED), hold released, order.cancelled
//   payment.refunded   REFUND_REQUESTED: REFUNDED, order.refunded (with the reason the refund was asked for)
//
// DELIVERY CONTRACT: at least once. The event id (ce_id) recorded in processed_events
// makes each effect happen once; an event that the state machine does not allow in the
// order's current status (a duplicate with a new id, a late event) changes nothing and
// succeeds, so it never holds up or dead-letters the batch. An event for an order this
// service never created is fatal (dead letter): payment-api only knows our orders.

#include "events/consumer_runtime.hpp"
#include "pg/pg.hpp"

namespace paypipe::order_processor {

core::Status apply_event(pg::Transaction& tx, const events::ConsumedEvent& event);

}  // namespace paypipe::order_processor
