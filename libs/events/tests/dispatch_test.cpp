// events::dispatch: each known type reaches its handler with the decoded contract, an
// unknown type and data that does not decode come back as the errors that dead-letter
// the record with the reason (outcome_for: fatal).
#include "events/dispatch.hpp"

#include <catch2/catch.hpp>

#include "contracts/order_completed.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/product_sold_out.hpp"
#include "events/outcome.hpp"

using namespace paypipe;

namespace {

const std::string payment_id = "0190a6b2-7c3e-7abc-8def-0123456789ab";
const std::string order_id = "0190a6b2-7c3e-7abc-8def-0123456789ac";
const std::string at = "2026-11-23T06:53:00.123Z";

events::Event event_of(std::string type, std::string data) {
  events::Event e;
  e.id = "0190a6b2-7c3e-7abc-8def-0123456789ff";
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

using Payments = events::EventSet<contracts::PaymentCompleted, contracts::PaymentFailed>;

// Which handler ran, and with what.
core::Result<std::string> handle(const events::Event& e) {
  return Payments::dispatch(
      e, "order-processor",
      [](const contracts::PaymentCompleted& p) -> core::Result<std::string> {
        return "completed " + p.payment_id + " " + std::to_string(p.amount) + " " + p.currency;
      },
      [](const contracts::PaymentFailed& p) -> core::Result<std::string> {
        return "failed " + p.payment_id + " " + p.reason;
      });
}

}  // namespace

TEST_CASE("each known type reaches its own handler with the decoded contract") {
  const contracts::PaymentCompleted completed{payment_id, order_id, "user-1", 3000, "KRW", at};
  auto c = handle(event_of(std::string(contracts::PaymentCompleted::type), contracts::encode(completed)));
  REQUIRE(c.ok());
  CHECK(*c == "completed " + payment_id + " 3000 KRW");

  const contracts::PaymentFailed failed{payment_id, order_id, "user-1", 3000, "KRW", "INSUFFICIENT_FUNDS", at};
  auto f = handle(event_of(std::string(contracts::PaymentFailed::type), contracts::encode(failed)));
  REQUIRE(f.ok());
  CHECK(*f == "failed " + payment_id + " INSUFFICIENT_FUNDS");
}

TEST_CASE("an old-named event reaches the handler of its current name") {
  const contracts::PaymentFailed failed{payment_id, order_id, "user-1", 3000, "KRW", "INSUFFICIENT_FUNDS", at};
  auto f = handle(event_of("payment.failed", contracts::encode(failed)));
  REQUIRE(f.ok());
  CHECK(*f == "failed " + payment_id + " INSUFFICIENT_FUNDS");
}

TEST_CASE("a handler's own error comes back as it is") {
  const contracts::PaymentCompleted completed{payment_id, order_id, "user-1", 3000, "KRW", at};
  core::Status s = events::dispatch<contracts::PaymentCompleted>(
      event_of(std::string(contracts::PaymentCompleted::type), contracts::encode(completed)), "x",
      [](const contracts::PaymentCompleted&) -> core::Status {
        return core::make_error(core::ErrorCategory::not_found, "order-not-found", "no such order");
      });
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "order-not-found");
}

TEST_CASE("a type the consumer does not handle is a dead letter saying so, as before the dispatcher") {
  auto unknown = handle(event_of(std::string(contracts::ProductSoldOut::type), "{}"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().category == core::ErrorCategory::invalid_input);
  CHECK(unknown.error().code == "unexpected-event-type");
  CHECK(unknown.error().message == "order-processor does not handle dev.paypipe.product.sold-out.v1");
  const auto outcome = events::outcome_for(unknown.error(), "order-processor");
  CHECK(outcome.kind == events::Outcome::Kind::fatal);
  CHECK(outcome.error_class == "paypipe.order-processor.UnexpectedEventType");
  CHECK(outcome.message == "order-processor does not handle dev.paypipe.product.sold-out.v1");
}

TEST_CASE("data the contract's decoder refuses is a dead letter naming the type and the field") {
  auto bad = handle(event_of(std::string(contracts::PaymentCompleted::type), R"({"paymentId":"not-a-uuid"})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  CHECK(bad.error().code == "undecodable-event");
  CHECK(bad.error().message.rfind("dev.paypipe.payment.completed.v1 data does not decode: ", 0) == 0);
  CHECK(bad.error().message.find("paymentId") != std::string::npos);
  const auto outcome = events::outcome_for(bad.error(), "order-processor");
  CHECK(outcome.kind == events::Outcome::Kind::fatal);
  CHECK(outcome.error_class == "paypipe.order-processor.UndecodableEvent");

  auto not_json = handle(event_of(std::string(contracts::PaymentFailed::type), "{"));
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.error().code == "undecodable-event");
}

TEST_CASE("one generic handler can take every contract of the set") {
  using Sales = events::EventSet<contracts::OrderCompleted, contracts::ProductSoldOut>;
  const contracts::ProductSoldOut sold{"seat-A1", "Seat A1", 10, at, at};
  auto type = Sales::dispatch(event_of(std::string(contracts::ProductSoldOut::type), contracts::encode(sold)),
                              "ranking-updater", [](const auto& data) -> core::Result<std::string> {
                                return std::string(std::remove_cvref_t<decltype(data)>::type);
                              });
  REQUIRE(type.ok());
  CHECK(*type == "dev.paypipe.product.sold-out.v1");
}

TEST_CASE("a set's types come from its contracts, in order") {
  CHECK(Payments::types() ==
        std::vector<std::string>{"dev.paypipe.payment.completed.v1", "dev.paypipe.payment.failed.v1"});
}

TEST_CASE("make_event takes the type and the encoding from the contract") {
  const contracts::PaymentCompleted completed{payment_id, order_id, "user-1", 3000, "KRW", at};
  const auto e = events::make_event("/paypipe/payment-api", order_id, completed);
  CHECK(e.type == "dev.paypipe.payment.completed.v1");
  CHECK(e.key == order_id);
  CHECK(e.data == contracts::encode(completed));
  CHECK(e.dataschema == "https://paypipe.dev/schemas/events/payment.completed.v1.json");
}

// What must not build (checked here as traits, since a failing build cannot be a test):
// a handler set that misses a contract is refused by dispatch's static_assert, and a type
// that is not a contract is refused by the concept.
static_assert(events::EventContract<contracts::PaymentCompleted>);
static_assert(!events::EventContract<std::string>);
static_assert(!events::detail::distinct_types<contracts::PaymentCompleted, contracts::PaymentCompleted>());
static_assert(events::detail::distinct_types<contracts::PaymentCompleted, contracts::PaymentFailed>());
