#pragma once
// Retry policies are values passed in, not loops written in place.
//
// In-process: the consumer runtime retries a retryable outcome up to max_attempts
// times in all, waiting delay(n) before retry n (n = 1, 2, ...):
// initial * multiplier^(n-1), capped at max_delay, and never less than a downstream's
// Retry-After. The data-platform forwarder's policy (5 attempts, 1 s x2 capped at 8 s)
// waits 1, 2, 4, 8 s. Tests pass zero delays.

#include <chrono>
#include <optional>

namespace paypipe::events {

struct RetryPolicy {
  int max_attempts = 3;  // attempts in all, the first included; 1 = no in-process retry
  std::chrono::milliseconds initial_delay{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{8000};

  // The wait before retry `retry` (1-based).
  std::chrono::milliseconds delay(int retry,
                                  std::optional<std::chrono::milliseconds> retry_after = std::nullopt) const;
  // True if after `attempts_made` attempts another one is allowed.
  bool allows_another(int attempts_made) const { return attempts_made < max_attempts; }

  static RetryPolicy none() { return RetryPolicy{1, std::chrono::milliseconds(0), 1.0, std::chrono::milliseconds(0)}; }
};

}  // namespace paypipe::events
