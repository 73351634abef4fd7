#include "payment_api/event_handlers.hpp"

#include "contracts/order_cancelled.hpp"
#include "contracts/order_created.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "core/log.hpp"
#include "payment_api/payment_store.hpp"

namespace paypipe::payment_api {

namespace {

core::Status check(const core::Result<pg::Rows>& rows) {
  if (!rows) return rows.error();
  return {};
}

core::Status on_order_created(pg::Transaction& tx, const contracts::OrderCreated& order) {
  // A cancellation seen first left a CANCELLED row: it stays cancelled.
  return check(tx.exec(
      "INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
      "VALUES ($1, $2, $3, $4, 'PAYABLE', $5) ON CONFLICT (order_id) DO NOTHING",
      order.order_id, order.user_id, order.total_amount, order.currency, order.expires_at));
}

core::Status on_order_cancelled(pg::Transaction& tx, const contracts::OrderCancelled& order) {
  return check(tx.exec(
      "INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
      "VALUES ($1, $2, $3, $4, 'CANCELLED', $5) "
      "ON CONFLICT (order_id) DO UPDATE SET status = 'CANCELLED', updated_at = now() "
      "WHERE payable_orders.status IN ('PAYABLE', 'PAYMENT_FAILED')",
      order.order_id, order.user_id, order.total_amount, order.currency, order.cancelled_at));
}

core::Status on_refund_requested(pg::Transaction& tx, const contracts::PaymentRefundRequested& request) {
  auto refunded = refund(tx, request.payment_id, "/paypipe/payment-api");
  if (!refunded) return refunded.error();
  if (!*refunded) {
    core::log::info({{core::log::key::payment_id, request.payment_id}}, "refund skipped: not found or not completed");
  }
  return {};
}

template <typename T>
core::Status with(core::Result<T> decoded, core::Status (*apply)(pg::Transaction&, const T&), pg::Transaction& tx) {
  if (!decoded) return decoded.error();
  return apply(tx, *decoded);
}

}  // namespace

core::Status apply_event(pg::Transaction& tx, const events::ConsumedEvent& consumed) {
  const auto& e = consumed.event;
  if (e.type == "order.created") return with(contracts::decode_order_created(e.data), on_order_created, tx);
  if (e.type == "order.cancelled") return with(contracts::decode_order_cancelled(e.data), on_order_cancelled, tx);
  if (e.type == "payment.refund-requested") {
    return with(contracts::decode_payment_refund_requested(e.data), on_refund_requested, tx);
  }
  return core::make_error(core::ErrorCategory::invalid_input, "unexpected-event-type",
                          "payment-api does not handle " + e.type);
}

}  // namespace paypipe::payment_api
