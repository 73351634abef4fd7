#include "events/retry.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "events/outcome.hpp"

using namespace paypipe::events;
using namespace std::chrono_literals;

TEST_CASE("the forwarder's policy waits 1, 2, 4, 8 seconds") {
  const RetryPolicy forwarder{5, 1000ms, 2.0, 8000ms};
  CHECK(forwarder.delay(1) == 1000ms);
  CHECK(forwarder.delay(2) == 2000ms);
  CHECK(forwarder.delay(3) == 4000ms);
  CHECK(forwarder.delay(4) == 8000ms);
  CHECK(forwarder.delay(5) == 8000ms);  // capped
  CHECK(forwarder.allows_another(4));
  CHECK_FALSE(forwarder.allows_another(5));
}

TEST_CASE("Retry-After is a floor, a zero policy never waits") {
  const RetryPolicy policy{3, 100ms, 2.0, 1000ms};
  CHECK(policy.delay(1, 5000ms) == 5000ms);
  CHECK(policy.delay(1, 10ms) == 100ms);
  const RetryPolicy zero{3, 0ms, 2.0, 0ms};
  CHECK(zero.delay(3) == 0ms);
  CHECK_FALSE(RetryPolicy::none().allows_another(1));
}

TEST_CASE("outcome_for decides retryability from the error category") {
  using paypipe::core::ErrorCategory;
  using paypipe::core::make_error;
  const auto down = outcome_for(make_error(ErrorCategory::internal, "http-timeout", "slow"), "notification");
  CHECK(down.kind == Outcome::Kind::retryable);
  CHECK(down.error_class == "paypipe.notification.HttpTimeout");
  const auto bad = outcome_for(make_error(ErrorCategory::invalid_input, "schema-invalid", "x"), "events");
  CHECK(bad.kind == Outcome::Kind::fatal);
  CHECK(bad.error_class == "paypipe.events.SchemaInvalid");
  CHECK(outcome_for(make_error(ErrorCategory::conflict, "c", "x"), "x").kind == Outcome::Kind::fatal);
  CHECK(outcome_for(make_error(ErrorCategory::too_many_requests, "t", "x"), "x").kind == Outcome::Kind::retryable);
}

TEST_CASE("infrastructure errors (the database or the broker unavailable) are waited out, never dead-lettered") {
  using paypipe::core::ErrorCategory;
  using paypipe::core::make_error;
  CHECK(paypipe::core::is_infrastructure(ErrorCategory::unavailable));
  for (const auto c : {ErrorCategory::internal, ErrorCategory::too_many_requests, ErrorCategory::invalid_input,
                       ErrorCategory::conflict, ErrorCategory::unprocessable}) {
    CHECK_FALSE(paypipe::core::is_infrastructure(c));
  }
  // What libs/pg reports for a lost connection, 40001 and 40P01.
  for (const auto* code : {"pg-connect", "pg-40001", "pg-40P01", "pg-pool-exhausted"}) {
    const auto o = outcome_for(make_error(ErrorCategory::unavailable, code, "down"), "coupon-issuer");
    CHECK(o.kind == Outcome::Kind::infrastructure);
    CHECK_FALSE(o.succeeded());
  }
  CHECK(std::string(to_string(Outcome::Kind::infrastructure)) == "infrastructure");
  // An outside service's failure is built directly and stays retryable (then dead letter).
  CHECK(Outcome::retry("paypipe.notification.TelegramTimeout", "timed out").kind == Outcome::Kind::retryable);
}
