#include "order_processor/event_handlers.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refunded.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "events/dispatch.hpp"
#include "order_processor/order_store.hpp"

namespace paypipe::order_processor {

namespace {

// A payment result, decoded: the order it is about (as the event spells its id) and
// what it says.
struct PaymentResult {
  std::string_view type;
  std::string order_id;
  std::optional<PaymentRef> payment;  // payment.completed only
  const events::Event* event = nullptr;
};

core::Result<PaymentResult> decode(const events::Event& e) {
  return events::dispatch<contracts::PaymentCompleted, contracts::PaymentFailed, contracts::PaymentRefunded>(
      e, "order-processor",
      [&](const contracts::PaymentCompleted& p) -> core::Result<PaymentResult> {
        return PaymentResult{contracts::PaymentCompleted::type, p.order_id,
                             PaymentRef{p.payment_id, p.amount, p.currency}, &e};
      },
      [&](const contracts::PaymentFailed& p) -> core::Result<PaymentResult> {
        return PaymentResult{contracts::PaymentFailed::type, p.order_id, std::nullopt, &e};
      },
      [&](const contracts::PaymentRefunded& p) -> core::Result<PaymentResult> {
        return PaymentResult{contracts::PaymentRefunded::type, p.order_id, std::nullopt, &e};
      });
}

Decision decide(const PaymentResult& result, const Order& order) {
  if (result.type == contracts::PaymentCompleted::type) {
    return decide_payment_completed(order, result.payment->payment_id);
  }
  if (result.type == contracts::PaymentFailed::type) return decide_payment_failed(order);
  return decide_payment_refunded(order);
}

}  // namespace

core::Status apply_events(pg::Transaction& tx, std::span<const events::ConsumedEvent* const> events) {
  std::vector<PaymentResult> results;
  std::set<std::string> order_ids;
  results.reserve(events.size());
  for (const auto* consumed : events) {
    auto result = decode(consumed->event);
    if (!result) return result.error();
    order_ids.insert(result->order_id);
    results.push_back(std::move(result).value());
  }
  auto locked = lock_orders(tx, order_ids);
  if (!locked) return locked.error();

  // The rules decide each event on its order as the events before it left it.
  const auto now = core::now_ms();
  std::map<std::string, Order> current;  // by the stored id
  std::vector<Change> changes;
  for (const auto& result : results) {
    const auto found = locked->find(result.order_id);
    if (found == locked->end()) {
      return core::make_error(
          core::ErrorCategory::not_found, "order-not-found",
          std::string(result.type) + " for order " + result.order_id + ", which order-processor never created");
    }
    Order& order = current.try_emplace(found->second.id, found->second).first->second;
    // The runtime traces a batch as its first event; each event's effects carry its own trace.
    const auto trace = core::TraceContext::parse(result.event->traceparent);
    core::TraceScope scope(trace ? trace->child() : core::current_trace());
    const auto decision = decide(result, order);
    if (decision.effect == Effect::none) {
      core::log::info({{core::log::key::order_id, order.id}}, "{} changes nothing: {}", result.type, decision.note);
      continue;
    }
    auto change = change_for(order, decision, result.payment, now);
    if (!change) return change.error();
    core::log::info({{core::log::key::order_id, order.id}}, "order {} -> {} ({})", to_string(order.status),
                    to_string(change->after.status), result.type);
    order = change->after;
    changes.push_back(std::move(change).value());
  }
  return write_changes(tx, changes, now);
}

}  // namespace paypipe::order_processor
