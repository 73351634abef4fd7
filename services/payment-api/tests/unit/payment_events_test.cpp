#include "payment_api/payment_events.hpp"

#include <catch2/catch.hpp>

#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refunded.hpp"
#include "events/schemas.hpp"

using namespace paypipe;
using namespace paypipe::payment_api;

namespace {

const std::string source = "/paypipe/payment-api";
const std::string order_id = "0190a6b2-7c3e-7abc-8def-00000000000a";

Decision decided(Verdict verdict, const std::string& status) {
  Decision d;
  d.verdict = verdict;
  d.amount = 3000;
  d.currency = "KRW";
  d.previous = StoredPayment{"0190a6b2-7c3e-7abc-8def-0000000000f1",
                             order_id,
                             "alice",
                             3000,
                             "KRW",
                             status,
                             std::nullopt,
                             order_id + ":alice",
                             "2027-01-15T08:00:00.000Z",
                             "k1"};
  return d;
}

}  // namespace

TEST_CASE("a charge announces payment.completed keyed by the order, in the request's trace") {
  const auto trace = core::TraceContext::generate();
  const auto e = payment_event(decided(Verdict::charge, "COMPLETED"), source, trace);
  REQUIRE(e);
  CHECK(e->type == contracts::PaymentCompleted::type);
  CHECK(events::SchemaRegistry::builtin().validate(e->type, e->data).ok());
  CHECK(e->source == source);
  CHECK(e->key == order_id);
  CHECK(e->traceparent.find(trace.trace_id) != std::string::npos);
  auto data = contracts::decode_payment_completed(e->data);
  REQUIRE(data.ok());
  CHECK(data->payment_id == "0190a6b2-7c3e-7abc-8def-0000000000f1");
  CHECK(data->order_id == order_id);
  CHECK(data->user_id == "alice");
  CHECK(data->amount == 3000);
  CHECK(data->completed_at == "2027-01-15T08:00:00.000Z");
}

TEST_CASE("insufficient funds announce payment.failed with its reason") {
  const auto e = payment_event(decided(Verdict::insufficient_funds, "FAILED"), source, core::TraceContext::generate());
  REQUIRE(e);
  CHECK(e->type == contracts::PaymentFailed::type);
  CHECK(events::SchemaRegistry::builtin().validate(e->type, e->data).ok());
  CHECK(e->key == order_id);
  auto data = contracts::decode_payment_failed(e->data);
  REQUIRE(data.ok());
  CHECK(data->reason == "INSUFFICIENT_FUNDS");
  CHECK(data->failed_at == "2027-01-15T08:00:00.000Z");
}

TEST_CASE("refusals and replays announce nothing") {
  for (const auto verdict : {Verdict::replay, Verdict::key_reused, Verdict::order_not_found, Verdict::wrong_user,
                             Verdict::not_payable, Verdict::currency_mismatch}) {
    CHECK_FALSE(payment_event(decided(verdict, "COMPLETED"), source, core::TraceContext::generate()));
  }
}

TEST_CASE("a refund announces payment.refunded keyed by the order, with the amount returned") {
  const auto payment = *decided(Verdict::charge, "REFUNDED").previous;
  const auto e = refunded_event(payment, source, "2027-01-16T09:00:00.000Z");
  CHECK(e.type == contracts::PaymentRefunded::type);
  CHECK(events::SchemaRegistry::builtin().validate(e.type, e.data).ok());
  CHECK(e.source == source);
  CHECK(e.key == order_id);
  auto data = contracts::decode_payment_refunded(e.data);
  REQUIRE(data.ok());
  CHECK(data->payment_id == payment.id);
  CHECK(data->user_id == "alice");
  CHECK(data->amount == 3000);
  CHECK(data->currency == "KRW");
  CHECK(data->refunded_at == "2027-01-16T09:00:00.000Z");
}
