#pragma once
// What order-processor does with the events it consumes (group order-processor), inside
// the batch's transaction with their event ids recorded (events::exactly_once_handler):
//
//   payment.completed  PENDING_PAYMENT: paid and fulfilled as far as it goes at once, the
//                      hold becomes a sale, order.completed (+ product.sold-out);
//                      CANCELLED / EXPIRED: REFUND_REQUESTED, payment.refund-requested
//   payment.failed     PENDING_PAYMENT: CANCELLED (PAYMENT_FAILED), hold released, order.cancelled
//   payment.refunded   REFUND_REQUESTED: REFUNDED, order.refunded (with the reason the refund was asked for)
//
// A batch costs the same statements whatever its size: its orders are locked at once
// (lock_orders), the rules decide each event in turn on the order as the events before
// it left it, and the changes are written together (write_changes): the states and
// events of applying them one by one.
//
// DELIVERY CONTRACT: at least once. The event id (ce_id) recorded in processed_events
// makes each effect happen once; an event that the state machine does not allow in the
// order's current status (a duplicate with a new id, a late event) changes nothing and
// succeeds, so it never holds up or dead-letters the batch. An event for an order this
// service never created is fatal (dead letter): payment-api only knows our orders. Such
// an event fails the batch's one transaction, and the batch is replayed event by event
// (events::apply_exactly_once), so it goes to the dead letters alone.

#include <span>

#include "events/consumer_runtime.hpp"
#include "pg/pg.hpp"

namespace paypipe::order_processor {

core::Status apply_events(pg::Transaction& tx, std::span<const events::ConsumedEvent* const> events);

}  // namespace paypipe::order_processor
