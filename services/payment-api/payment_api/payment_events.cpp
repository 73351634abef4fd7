#include "payment_api/payment_events.hpp"

#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refunded.hpp"

namespace paypipe::payment_api {

namespace {

template <typename Data>
events::Event event_of(const Data& data, std::string_view source) {
  return events::make_event(std::string(source), data.order_id, data);
}

}  // namespace

std::optional<events::Event> payment_event(const Decision& decision, std::string_view source,
                                           const core::TraceContext& trace) {
  if (decision.verdict != Verdict::charge && decision.verdict != Verdict::insufficient_funds) return std::nullopt;
  core::TraceScope scope(trace);
  const auto& p = *decision.previous;
  if (decision.verdict == Verdict::charge) {
    return event_of(contracts::PaymentCompleted{p.id, p.order_id, p.user_id, p.amount, p.currency, p.created_at},
                    source);
  }
  return event_of(
      contracts::PaymentFailed{p.id, p.order_id, p.user_id, p.amount, p.currency, "INSUFFICIENT_FUNDS", p.created_at},
      source);
}

events::Event refunded_event(const StoredPayment& payment, std::string_view source, const std::string& refunded_at) {
  return event_of(contracts::PaymentRefunded{payment.id, payment.order_id, payment.user_id, payment.amount,
                                             payment.currency, refunded_at},
                  source);
}

}  // namespace paypipe::payment_api
