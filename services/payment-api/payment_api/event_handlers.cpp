#include "payment_api/event_handlers.hpp"

#include <spdlog/spdlog.h>

#include "contracts/order_cancelled.hpp"
#include "contracts/order_created.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "contracts/payment_refunded.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/dispatch.hpp"
#include "events/outbox.hpp"

namespace paypipe::payment_api {

namespace {

core::Status check(const core::Result<pg::Rows>& rows) {
  if (!rows) return rows.error();
  return {};
}

core::Status on_event(pg::Transaction& tx, const contracts::OrderCreated& order) {
  // A cancellation seen first left a CANCELLED row: it stays cancelled.
  return check(tx.exec(
      "INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
      "VALUES ($1, $2, $3, $4, 'PAYABLE', $5) ON CONFLICT (order_id) DO NOTHING",
      order.order_id, order.user_id, order.total_amount, order.currency, order.expires_at));
}

core::Status on_event(pg::Transaction& tx, const contracts::OrderCancelled& order) {
  return check(tx.exec(
      "INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
      "VALUES ($1, $2, $3, $4, 'CANCELLED', $5) "
      "ON CONFLICT (order_id) DO UPDATE SET status = 'CANCELLED', updated_at = now() "
      "WHERE payable_orders.status IN ('PAYABLE', 'PAYMENT_FAILED')",
      order.order_id, order.user_id, order.total_amount, order.currency, order.cancelled_at));
}

core::Status on_event(pg::Transaction& tx, const contracts::PaymentRefundRequested& request) {
  auto refunded = tx.exec(
      "UPDATE payments SET status = 'REFUNDED', refunded_at = now() WHERE id = $1 AND status = 'COMPLETED' "
      "RETURNING user_id, amount, currency, order_id::text",
      request.payment_id);
  if (!refunded) return refunded.error();
  if (refunded->empty()) {
    spdlog::info("refund of payment {} skipped: not found or not completed", request.payment_id);
    return {};
  }
  const auto user_id = refunded->str(0, 0);
  const auto amount = refunded->integer(0, 1);
  auto balance = tx.exec(
      "INSERT INTO wallets (user_id, balance) VALUES ($1, $2) "
      "ON CONFLICT (user_id) DO UPDATE SET balance = wallets.balance + EXCLUDED.balance, updated_at = now() "
      "RETURNING balance",
      user_id, amount);
  if (!balance) return balance.error();
  if (auto s = check(tx.exec("INSERT INTO wallet_entries (id, user_id, kind, amount, payment_id, balance_after) "
                             "VALUES ($1, $2, 'REFUND', $3, $4, $5)",
                             core::new_uuid_v7(), user_id, amount, request.payment_id, balance->integer(0, 0)));
      !s) {
    return s;
  }
  const contracts::PaymentRefunded data{request.payment_id, refunded->str(0, 3), user_id, amount, refunded->str(0, 2),
                                        core::now_rfc3339()};
  return events::append_to_outbox(
      tx, events::make_event("/paypipe/payment-api", data.order_id, data),
      "payment");
}
}  // namespace

core::Status apply_event(pg::Transaction& tx, const events::ConsumedEvent& consumed) {
  const auto& e = consumed.event;
  return events::dispatch<contracts::OrderCreated, contracts::OrderCancelled, contracts::PaymentRefundRequested>(
      e, "payment-api", [&](const auto& data) { return on_event(tx, data); });
}

}  // namespace paypipe::payment_api
