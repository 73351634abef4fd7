#include "events/retry.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

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

namespace {

using paypipe::core::ErrorCategory;
using paypipe::core::make_error;

// Time that passes only when retry() sleeps; records each wait.
class ScriptedClock final : public RetryClock {
 public:
  std::chrono::steady_clock::time_point now() override { return now_; }
  void sleep(std::chrono::milliseconds duration, const StopFlag& stop) override {
    waits.push_back(duration);
    if (during_wait) during_wait();
    if (!stop) now_ += duration;
  }
  std::vector<std::chrono::milliseconds> waits;
  std::function<void()> during_wait;

 private:
  std::chrono::steady_clock::time_point now_{};
};

// Fails with `error` the first `failures` times, then returns the attempt's number.
struct ScriptedFailures {
  int failures;
  paypipe::core::Error error = make_error(ErrorCategory::unavailable, "down", "not yet");
  int calls = 0;
  paypipe::core::Result<int> operator()() {
    ++calls;
    if (calls <= failures) return error;
    return calls;
  }
};

}  // namespace

TEST_CASE("retry: attempts until success, waiting the policy's delays, capped") {
  ScriptedClock clock;
  ScriptedFailures fn{5};
  std::vector<int> heard;
  const RetryPolicy policy{10, 100ms, 2.0, 500ms};
  const auto result = retry(
      policy, never_stop(), std::ref(fn), [&](const RetryEvent& e) { heard.push_back(e.attempt); }, clock);
  REQUIRE(result);
  CHECK(*result == 6);
  CHECK(fn.calls == 6);
  CHECK(clock.waits == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 500ms, 500ms});
  CHECK(heard == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("retry: max_attempts bounds the attempts and the last error is returned") {
  ScriptedClock clock;
  ScriptedFailures fn{100};
  const auto result = retry(RetryPolicy{3, 10ms, 2.0, 1000ms}, never_stop(), std::ref(fn), {}, clock);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == "down");
  CHECK(fn.calls == 3);
  CHECK(clock.waits == std::vector<std::chrono::milliseconds>{10ms, 20ms});
}

TEST_CASE("retry: max_attempts 0 retries until success; give_up_after bounds the time") {
  ScriptedClock clock;
  ScriptedFailures forever{50};
  CHECK(retry(RetryPolicy::constant(0, 1ms), never_stop(), std::ref(forever), {}, clock));
  CHECK(forever.calls == 51);

  ScriptedClock timed;
  ScriptedFailures slow{100};
  // 100 ms waits within 350 ms: attempts at 0, 100, 200, 300, 400 ms, the last one past the limit.
  CHECK_FALSE(retry(RetryPolicy::constant(0, 100ms, 350ms), never_stop(), std::ref(slow), {}, timed));
  CHECK(slow.calls == 5);
}

TEST_CASE("retry: a non-retryable error returns at once") {
  ScriptedClock clock;
  ScriptedFailures fn{3, make_error(ErrorCategory::invalid_input, "bad", "never")};
  const auto result = retry(RetryPolicy{5, 10ms, 2.0, 100ms}, never_stop(), std::ref(fn), {}, clock);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == "bad");
  CHECK(fn.calls == 1);
  CHECK(clock.waits.empty());

  // The attempt decides explicitly: a conflict retried, an unavailable given up.
  int calls = 0;
  const auto conflict = retry(
      RetryPolicy::constant(3, 0ms), never_stop(),
      [&]() -> Attempt<void> {
        ++calls;
        return Attempt<void>::again(make_error(ErrorCategory::conflict, "race", "lost"));
      },
      {}, clock);
  CHECK_FALSE(conflict);
  CHECK(calls == 3);
  calls = 0;
  const auto down = retry(
      RetryPolicy::constant(3, 0ms), never_stop(),
      [&]() -> Attempt<void> {
        ++calls;
        return Attempt<void>::give_up(make_error(ErrorCategory::unavailable, "down", "x"));
      },
      {}, clock);
  CHECK_FALSE(down);
  CHECK(calls == 1);
}

TEST_CASE("retry: Retry-After is a floor for the wait") {
  ScriptedClock clock;
  int calls = 0;
  const auto result = retry(
      RetryPolicy{3, 100ms, 2.0, 1000ms}, never_stop(),
      [&]() -> Attempt<int> {
        if (++calls == 1)
          return Attempt<int>::again(make_error(ErrorCategory::too_many_requests, "429", "slow"), 3000ms);
        return 7;
      },
      {}, clock);
  CHECK(*result == 7);
  CHECK(clock.waits == std::vector<std::chrono::milliseconds>{3000ms});
}

TEST_CASE("retry: stop during a wait ends the retries; a stop set before one skips it") {
  ScriptedClock clock;
  StopFlag stop{false};
  clock.during_wait = [&] { stop = true; };
  ScriptedFailures fn{100};
  int heard = 0;
  const auto result = retry(
      RetryPolicy::constant(0, 1000ms), stop, std::ref(fn), [&](const RetryEvent&) { ++heard; }, clock);
  CHECK_FALSE(result);
  CHECK(fn.calls == 1);
  CHECK(clock.waits.size() == 1);
  CHECK(heard == 1);  // the failure is still reported

  ScriptedClock idle;
  ScriptedFailures again{100};
  CHECK_FALSE(retry(RetryPolicy::constant(0, 1000ms), stop, std::ref(again), {}, idle));
  CHECK(again.calls == 1);
  CHECK(idle.waits.empty());
}

TEST_CASE("retry: the real clock's wait ends promptly on stop") {
  StopFlag stop{false};
  ScriptedFailures fn{100};
  std::thread stopper;
  const auto started = std::chrono::steady_clock::now();
  const auto result = retry(RetryPolicy::constant(0, 60000ms), stop, std::ref(fn), [&](const RetryEvent&) {
    stopper = std::thread([&] {
      std::this_thread::sleep_for(50ms);  // shutdown arrives while retry() waits
      stop = true;
    });
  });
  stopper.join();
  CHECK_FALSE(result);
  CHECK(fn.calls == 1);
  CHECK(std::chrono::steady_clock::now() - started < 2000ms);
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
