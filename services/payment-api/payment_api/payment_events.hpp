#pragma once
// The events payment-api announces, decided from a Decision or a refund alone: pure
// code, no database (unit-tested in tests/unit/payment_events_test.cpp). They are the contract
// with order-processor and the notifiers; payment_store.cpp only writes them.

#include <optional>
#include <string_view>

#include "core/trace.hpp"
#include "events/envelope.hpp"
#include "payment_api/payment_rules.hpp"

namespace paypipe::payment_api {

// charge -> payment.completed, insufficient_funds -> payment.failed (INSUFFICIENT_FUNDS),
// both from `source`, keyed by the order id and carrying `trace`; every other verdict
// writes nothing and announces nothing.
std::optional<events::Event> payment_event(const Decision& decision, std::string_view source,
                                           const core::TraceContext& trace);

// payment.refunded for `payment` (as stored, just refunded) at `refunded_at`, from
// `source`, keyed by the order id, in the current trace.
events::Event refunded_event(const StoredPayment& payment, std::string_view source, const std::string& refunded_at);

}  // namespace paypipe::payment_api
