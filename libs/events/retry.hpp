#pragma once
// Retry policies are values passed in, not loops written in place.
//
// A policy allows max_attempts attempts in all (0: no limit) within give_up_after of
// the first (0: no limit), waiting delay(n) before retry n (n = 1, 2, ...):
// initial * multiplier^(n-1), capped at max_delay, and never less than a downstream's
// Retry-After. The data-platform forwarder's policy (5 attempts, 1 s x2 capped at 8 s)
// waits 1, 2, 4, 8 s. Tests pass zero delays.
//
// Configuration speaks Spring's terms, which count RETRIES after the first attempt:
// fixed_backoff(1 s, 3) is Spring's FixedBackOff(1000, 3), 4 attempts in all;
// exponential_backoff(4, 1 s, 2.0, 8 s) is ExponentialBackOffWithMaxRetries(4) with
// those intervals, the forwarder's policy above (runtime/retry_config.hpp).
//
// retry(policy, stop, fn) is the one blocking retry loop: it calls fn until fn succeeds,
// fails for good, the policy allows no more, or `stop` is set (a wait ends within
// RetryClock::stop_check of it). What it returns is fn's last result. Who retries on
// timers instead (the consumer runtime's concurrent mode, the forwarder, dlq-retrier)
// takes only delay() from the policy.

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/error.hpp"

namespace paypipe::events {

struct RetryPolicy {
  int max_attempts = 3;  // attempts in all, the first included; 1 = no retry; 0 = no limit
  std::chrono::milliseconds initial_delay{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{8000};
  // No retry starts once this long has passed since the first attempt began (0 = no limit).
  std::chrono::milliseconds give_up_after{0};

  // The wait before retry `retry` (1-based).
  std::chrono::milliseconds delay(int retry, std::optional<std::chrono::milliseconds> retry_after = std::nullopt) const;
  // True if after `attempts_made` attempts another one is allowed (time aside).
  bool allows_another(int attempts_made) const { return max_attempts == 0 || attempts_made < max_attempts; }
  // True if `elapsed` since the first attempt leaves no time for another.
  bool out_of_time(std::chrono::steady_clock::duration elapsed) const {
    return give_up_after.count() > 0 && elapsed >= give_up_after;
  }

  // Retries after the first attempt (Spring's count); -1 for no limit.
  int max_retries() const { return max_attempts == 0 ? -1 : max_attempts - 1; }
  // The same wait (multiplier 1) or a growing one.
  bool fixed() const { return multiplier == 1.0; }

  // Spring's FixedBackOff(interval, maxAttempts): `max_retries` retries, `interval` apart.
  static RetryPolicy fixed_backoff(std::chrono::milliseconds interval, int max_retries) {
    return RetryPolicy{max_retries + 1, interval, 1.0, interval};
  }
  // Spring's ExponentialBackOffWithMaxRetries(maxRetries) with initialInterval,
  // multiplier and maxInterval.
  static RetryPolicy exponential_backoff(int max_retries, std::chrono::milliseconds initial_interval, double multiplier,
                                         std::chrono::milliseconds max_interval) {
    return RetryPolicy{max_retries + 1, initial_interval, multiplier, max_interval};
  }
  static RetryPolicy none() { return RetryPolicy{1, std::chrono::milliseconds(0), 1.0, std::chrono::milliseconds(0)}; }
  // The same wait before every retry.
  static RetryPolicy constant(int max_attempts, std::chrono::milliseconds wait,
                              std::chrono::milliseconds give_up_after = std::chrono::milliseconds(0)) {
    return RetryPolicy{max_attempts, wait, 1.0, wait, give_up_after};
  }
};

// Set from any thread to end retry()'s waits and stop its retries.
using StopFlag = std::atomic<bool>;
// For callers nothing stops (start-up, a bounded call).
const StopFlag& never_stop();

// Time as retry() sees it; tests script it.
class RetryClock {
 public:
  static constexpr std::chrono::milliseconds stop_check{20};

  virtual ~RetryClock() = default;
  virtual std::chrono::steady_clock::time_point now() = 0;
  // Waits `duration`, ending early once `stop` is set.
  virtual void sleep(std::chrono::milliseconds duration, const StopFlag& stop) = 0;
};
// Real time; sleeps in slices of stop_check.
RetryClock& steady_retry_clock();

template <typename T>
using ResultOf = std::conditional_t<std::is_void_v<T>, core::Status, core::Result<T>>;

// What one attempt tells retry(): its result and, if it failed, whether another
// attempt may succeed. Built from a Result, the error's category decides
// (core::is_retryable); again() and give_up() decide explicitly.
template <typename T>
struct Attempt {
  ResultOf<T> result;
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;  // a downstream's floor for the wait

  Attempt(ResultOf<T> r)
      : result(std::move(r)),
        retryable(!result.ok() && result.error().retryable()) {}  // NOLINT(google-explicit-constructor)
  template <typename U = T, typename = std::enable_if_t<!std::is_void_v<U> && std::is_same_v<U, T>>>
  Attempt(U value) : result(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Attempt(core::Error error) : Attempt(ResultOf<T>(std::move(error))) {}  // NOLINT(google-explicit-constructor)

  static Attempt again(core::Error error, std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    Attempt a(ResultOf<T>(std::move(error)));
    a.retryable = true;
    a.retry_after = retry_after;
    return a;
  }
  static Attempt give_up(core::Error error) {
    Attempt a(ResultOf<T>(std::move(error)));
    a.retryable = false;
    return a;
  }
  // Every error retryable, whatever its category.
  static Attempt again_on_any_error(ResultOf<T> r) {
    Attempt a(std::move(r));
    a.retryable = !a.result.ok();
    return a;
  }
};

// A failed attempt that the policy retries: on_retry hears of it before the wait (also
// when `stop` then ends the retries), for a log line or a metric.
struct RetryEvent {
  int attempt;  // the attempt that failed, 1-based
  const core::Error& error;
  std::chrono::milliseconds delay;  // the wait before the next attempt
};
using OnRetry = std::function<void(const RetryEvent&)>;

namespace detail {
template <typename R>
struct AttemptOf;
template <typename T>
struct AttemptOf<Attempt<T>> {
  using type = Attempt<T>;
};
template <typename T>
struct AttemptOf<core::Result<T>> {
  using type = Attempt<T>;
};
template <>
struct AttemptOf<core::Status> {
  using type = Attempt<void>;
};
}  // namespace detail

// fn() returns an Attempt<T>, a core::Result<T> or a core::Status; retry() returns
// fn's last result (a Result<T> or a Status).
template <typename Fn>
auto retry(const RetryPolicy& policy, const StopFlag& stop, Fn&& fn, const OnRetry& on_retry = {},
           RetryClock& clock = steady_retry_clock()) {
  using A = typename detail::AttemptOf<std::decay_t<std::invoke_result_t<Fn&>>>::type;
  const auto started = clock.now();
  for (int attempt = 1;; ++attempt) {
    A outcome = fn();
    if (outcome.result.ok() || !outcome.retryable) return std::move(outcome.result);
    if (!policy.allows_another(attempt) || policy.out_of_time(clock.now() - started)) return std::move(outcome.result);
    const auto wait = policy.delay(attempt, outcome.retry_after);
    if (on_retry) on_retry(RetryEvent{attempt, outcome.result.error(), wait});
    if (stop) return std::move(outcome.result);
    clock.sleep(wait, stop);
    if (stop) return std::move(outcome.result);
  }
}

}  // namespace paypipe::events
