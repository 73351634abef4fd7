#include "payment_api/event_handlers.hpp"

#include <set>

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

core::Status on_event(pg::Transaction& tx, const contracts::PaymentRefundRequested& request) {
  auto refunded = refund(tx, request.payment_id, "/paypipe/payment-api");
  if (!refunded) return refunded.error();
  if (!*refunded) {
    core::log::info({{core::log::key::payment_id, request.payment_id}}, "refund skipped: not found or not completed");
  }
  return {};
}

}  // namespace

core::Status apply_events(pg::Transaction& tx, std::span<const events::ConsumedEvent* const> batch) {
  // The projection's rows, one statement per kind over arrays. Created before cancelled
  // gives what the events' order gives, whichever came first: a cancelled order stays
  // cancelled (insert-if-absent, then PAYABLE -> CANCELLED).
  std::vector<std::string> c_order, c_user, c_amount, c_currency, c_expires;
  std::vector<std::string> x_order, x_user, x_amount, x_currency, x_at;
  std::set<std::string> cancelled;  // one row per order in an upsert
  std::vector<contracts::PaymentRefundRequested> refunds;
  for (const auto* consumed : batch) {
    auto status =
        events::dispatch<contracts::OrderCreated, contracts::OrderCancelled, contracts::PaymentRefundRequested>(
            consumed->event, "payment-api",
            [&](const contracts::OrderCreated& order) {
              c_order.push_back(order.order_id);
              c_user.push_back(order.user_id);
              c_amount.push_back(std::to_string(order.total_amount));
              c_currency.push_back(order.currency);
              c_expires.push_back(order.expires_at);
              return core::Status{};
            },
            [&](const contracts::OrderCancelled& order) {
              if (!cancelled.insert(order.order_id).second) return core::Status{};
              x_order.push_back(order.order_id);
              x_user.push_back(order.user_id);
              x_amount.push_back(std::to_string(order.total_amount));
              x_currency.push_back(order.currency);
              x_at.push_back(order.cancelled_at);
              return core::Status{};
            },
            [&](const contracts::PaymentRefundRequested& request) {
              refunds.push_back(request);
              return core::Status{};
            });
    if (!status) return status;
  }
  // A cancellation seen first left a CANCELLED row: it stays cancelled.
  if (!c_order.empty()) {
    if (auto s = check(
            tx.exec("INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
                    "SELECT order_id, user_id, amount, currency, 'PAYABLE', expires_at "
                    "FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[]) "
                    "AS o(order_id, user_id, amount, currency, expires_at) ON CONFLICT (order_id) DO NOTHING",
                    c_order, c_user, c_amount, c_currency, c_expires));
        !s) {
      return s;
    }
  }
  if (!x_order.empty()) {
    if (auto s = check(tx.exec("INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
                               "SELECT order_id, user_id, amount, currency, 'CANCELLED', at "
                               "FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[]) "
                               "AS o(order_id, user_id, amount, currency, at) "
                               "ON CONFLICT (order_id) DO UPDATE SET status = 'CANCELLED', updated_at = now() "
                               "WHERE payable_orders.status IN ('PAYABLE', 'PAYMENT_FAILED')",
                               x_order, x_user, x_amount, x_currency, x_at));
        !s) {
      return s;
    }
  }
  // Each refund moves money and writes its own event: one at a time, in order.
  for (const auto& request : refunds) {
    if (auto s = on_event(tx, request); !s) return s;
  }
  return {};
}

}  // namespace paypipe::payment_api
