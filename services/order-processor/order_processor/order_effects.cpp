#include "order_processor/order_effects.hpp"

#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_created.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_refund_requested.hpp"

namespace paypipe::order_processor {

namespace {

template <typename Data>
events::Event event_of(const std::string& key, const Data& data) {
  return events::make_event(std::string(event_source), key, data);
}

// Orders whose refund was asked before the reason was recorded were all late payments.
std::string refund_reason_of(const Order& order) {
  if (order.refund_reason) return *order.refund_reason;
  return std::string(order.cancel_reason == "EXPIRED" ? refund_reason::order_expired : refund_reason::order_cancelled);
}

}  // namespace

events::Event created_event(const Order& order) {
  return event_of(order.id,
                  contracts::OrderCreated{order.id, order.user_id, order.items, order.total_amount, order.currency,
                                          order.fulfilment, order.expires_at, order.created_at});
}

core::Result<Change> change_for(const Order& order, const Decision& decision, const std::optional<PaymentRef>& payment,
                                core::SystemTime now) {
  Change change{order, StockMove::none, {}};
  if (decision.effect == Effect::none) return change;
  auto final_status = walk(order.status, decision.path);
  if (!final_status) return final_status.error();
  Order& after = change.after;
  after.status = *final_status;
  after.updated_at = core::format_rfc3339(now);
  if (decision.effect == Effect::complete || decision.effect == Effect::request_refund) {
    if (!payment) {
      return core::make_error(core::ErrorCategory::internal, "payment-missing",
                              "a payment is needed to complete or refund");
    }
    after.payment_id = payment->payment_id;
  }
  if ((decision.effect == Effect::refund || decision.effect == Effect::mark_refunded) && !order.payment_id) {
    return core::make_error(core::ErrorCategory::internal, "payment-missing",
                            "order " + order.id + " has no payment to refund");
  }
  switch (decision.effect) {
    case Effect::complete:
      after.paid_at = after.updated_at;
      change.stock = StockMove::sell;
      change.events.push_back(event_of(
          order.id, contracts::OrderCompleted{order.id, order.user_id, order.items, order.total_amount, order.currency,
                                              order.fulfilment, payment->payment_id, after.updated_at}));
      break;
    case Effect::cancel:
      after.cancel_reason = decision.reason;
      change.stock = StockMove::release;
      change.events.push_back(
          event_of(order.id, contracts::OrderCancelled{order.id, order.user_id, decision.reason, order.items,
                                                       order.total_amount, order.currency, after.updated_at}));
      break;
    case Effect::request_refund:
      after.refund_reason = decision.reason;
      change.events.push_back(event_of(
          order.id, contracts::PaymentRefundRequested{payment->payment_id, order.id, order.user_id, payment->amount,
                                                      payment->currency, decision.reason, after.updated_at}));
      break;
    case Effect::refund:
      after.refund_reason = decision.reason;
      change.stock = StockMove::unsell;
      change.events.push_back(event_of(
          order.id, contracts::PaymentRefundRequested{*order.payment_id, order.id, order.user_id, order.total_amount,
                                                      order.currency, decision.reason, after.updated_at}));
      break;
    case Effect::mark_refunded:
      change.events.push_back(event_of(
          order.id, contracts::OrderRefunded{order.id, order.user_id, order.items, order.total_amount, order.currency,
                                             *order.payment_id, refund_reason_of(order), after.updated_at}));
      break;
    case Effect::advance:
    case Effect::none: break;
  }
  return change;
}

std::vector<events::Event> sold_out_events(std::span<const contracts::ProductSoldOut> products) {
  std::vector<events::Event> out;
  out.reserve(products.size());
  for (const auto& product : products) out.push_back(event_of(product.product_id, product));
  return out;
}

}  // namespace paypipe::order_processor
