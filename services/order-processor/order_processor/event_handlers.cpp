#include "order_processor/event_handlers.hpp"

#include <spdlog/spdlog.h>

#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refunded.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "events/dispatch.hpp"
#include "order_processor/order_store.hpp"

namespace paypipe::order_processor {

namespace {

// The order an event is about, locked for the rest of the transaction.
core::Result<Order> order_of(pg::Transaction& tx, const std::string& order_id, std::string_view event_type) {
  auto order = lock_order(tx, order_id);
  if (!order) return order.error();
  if (!*order) {
    return core::make_error(
        core::ErrorCategory::not_found, "order-not-found",
        std::string(event_type) + " for order " + order_id + ", which order-processor never created");
  }
  return std::move(**order);
}

core::Status apply(pg::Transaction& tx, const Order& order, const Decision& decision,
                   const std::optional<PaymentRef>& payment, std::string_view event_type) {
  if (decision.effect == Effect::none) {
    core::log::info({{core::log::key::order_id, order.id}}, "{} changes nothing: {}", event_type, decision.note);
    return {};
  }
  auto after = apply_decision(tx, order, decision, payment, core::now_ms());
  if (!after) return after.error();
  core::log::info({{core::log::key::order_id, order.id}}, "order {} -> {} ({})", to_string(order.status),
                  to_string(after->status), event_type);
  return {};
}

core::Status on_event(pg::Transaction& tx, const contracts::PaymentCompleted& payment) {
  auto order = order_of(tx, payment.order_id, contracts::PaymentCompleted::type);
  if (!order) return order.error();
  return apply(tx, *order, decide_payment_completed(*order, payment.payment_id),
               PaymentRef{payment.payment_id, payment.amount, payment.currency}, contracts::PaymentCompleted::type);
}

core::Status on_event(pg::Transaction& tx, const contracts::PaymentFailed& payment) {
  auto order = order_of(tx, payment.order_id, contracts::PaymentFailed::type);
  if (!order) return order.error();
  return apply(tx, *order, decide_payment_failed(*order), std::nullopt, contracts::PaymentFailed::type);
}

core::Status on_event(pg::Transaction& tx, const contracts::PaymentRefunded& refund) {
  auto order = order_of(tx, refund.order_id, contracts::PaymentRefunded::type);
  if (!order) return order.error();
  return apply(tx, *order, decide_payment_refunded(*order), std::nullopt, contracts::PaymentRefunded::type);
}
}  // namespace

core::Status apply_event(pg::Transaction& tx, const events::ConsumedEvent& consumed) {
  const auto& e = consumed.event;
  // The runtime traces a batch as its first event; each event's effects carry its own trace.
  auto trace = core::TraceContext::parse(e.traceparent);
  core::TraceScope scope(trace ? trace->child() : core::current_trace());
  return events::dispatch<contracts::PaymentCompleted, contracts::PaymentFailed, contracts::PaymentRefunded>(
      e, "order-processor", [&](const auto& data) { return on_event(tx, data); });
}

}  // namespace paypipe::order_processor
