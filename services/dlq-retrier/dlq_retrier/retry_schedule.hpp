#pragma once
// When dlq-retrier sends a dead letter back, and when it gives up: a policy value,
// passed in (tests use delays of milliseconds).
//
// A dead letter says which delivery attempt failed (`attempt`, 1 = the original
// delivery). It is parked when that attempt was the last one allowed
// (attempt >= max_attempts) or the failure was fatal; otherwise it is republished to
// retry.<group> as attempt + 1 once failed-at + delay(group, attempt) has passed.
// delay(group, n) = initial * multiplier^(n-1), capped at max_delay, where initial is
// the group's own delay if it has one (PAYPIPE_RETRY_DELAYS) or the default.

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "events/retry.hpp"

namespace paypipe::dlq_retrier {

struct RetrySchedule {
  int max_attempts = 3;
  // initial_delay, multiplier and max_delay are used; max_attempts is the field above.
  events::RetryPolicy backoff{3, std::chrono::minutes(5), 1.0, std::chrono::hours(1)};
  std::map<std::string, std::chrono::milliseconds, std::less<>> group_delays;

  std::chrono::milliseconds delay(std::string_view group, int failed_attempt) const;
  bool exhausted(int failed_attempt) const { return failed_attempt >= max_attempts; }
};

// Parses "notification-sender=5000;data-platform-forwarder=60000" (milliseconds per
// group). The error names every bad entry.
core::Result<std::map<std::string, std::chrono::milliseconds, std::less<>>> parse_group_delays(
    const std::map<std::string, std::string>& entries);

}  // namespace paypipe::dlq_retrier
