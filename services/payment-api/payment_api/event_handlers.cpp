#include "payment_api/event_handlers.hpp"

#include "contracts/order_cancelled.hpp"
#include "contracts/order_created.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "core/log.hpp"
#include "events/dispatch.hpp"
#include "payment_api/payment_store.hpp"

namespace paypipe::payment_api {

namespace {

core::Status check(const core::Result<pg::Rows>& rows) {
  if (!rows) return rows.error();
  return {};
}

core::Status on_event(pg::Transaction& tx, const contracts::OrderCreated& order) {
  // A cancellation seen first left a CANCELLED row: it stays cancelled.
  return check(
      tx.exec("INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
              "VALUES ($1, $2, $3, $4, 'PAYABLE', $5) ON CONFLICT (order_id) DO NOTHING",
              order.order_id, order.user_id, order.total_amount, order.currency, order.expires_at));
}

core::Status on_event(pg::Transaction& tx, const contracts::OrderCancelled& order) {
  return check(
      tx.exec("INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
              "VALUES ($1, $2, $3, $4, 'CANCELLED', $5) "
              "ON CONFLICT (order_id) DO UPDATE SET status = 'CANCELLED', updated_at = now() "
              "WHERE payable_orders.status IN ('PAYABLE', 'PAYMENT_FAILED')",
              order.order_id, order.user_id, order.total_amount, order.currency, order.cancelled_at));
}

core::Status on_event(pg::Transaction& tx, const contracts::PaymentRefundRequested& request) {
  auto refunded = refund(tx, request.payment_id, "/paypipe/payment-api");
  if (!refunded) return refunded.error();
  if (!*refunded) {
    core::log::info({{core::log::key::payment_id, request.payment_id}}, "refund skipped: not found or not completed");
  }
  return {};
}

}  // namespace

core::Status apply_event(pg::Transaction& tx, const events::ConsumedEvent& consumed) {
  const auto& e = consumed.event;
  return events::dispatch<contracts::OrderCreated, contracts::OrderCancelled, contracts::PaymentRefundRequested>(
      e, "payment-api", [&](const auto& data) { return on_event(tx, data); });
}

}  // namespace paypipe::payment_api
