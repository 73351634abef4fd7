#pragma once
// When dlq-retrier sends a dead letter back, and when it gives up: a policy value,
// passed in (tests use delays of milliseconds).
//
// Counted as Spring counts: `backoff` allows max_retries() re-deliveries after the
// original delivery (the seeds' processFailedMessages(): every 5 minutes, 3 times).
// A dead letter says which delivery failed (`attempt`, 1 = the original). It is parked
// when that was the last delivery allowed (attempt > max_retries) or the failure was
// fatal; otherwise it is republished to retry.<group> as attempt + 1 once failed-at +
// delay(group, attempt) has passed. delay(group, n) = interval * multiplier^(n-1),
// capped at the max interval, where the interval is the group's own if it has one
// (PAYPIPE_RETRIER_GROUP_INTERVALS) or the default.

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "events/retry.hpp"

namespace paypipe::dlq_retrier {

struct RetrySchedule {
  events::RetryPolicy backoff = events::RetryPolicy::fixed_backoff(std::chrono::minutes(5), 3);
  std::map<std::string, std::chrono::milliseconds, std::less<>> group_intervals;

  std::chrono::milliseconds delay(std::string_view group, int failed_attempt) const;
  // Deliveries in all, the original included.
  int max_deliveries() const { return backoff.max_attempts; }
  bool exhausted(int failed_attempt) const { return !backoff.allows_another(failed_attempt); }
  // The longest wait of any group before any re-delivery.
  std::chrono::milliseconds longest_delay() const;
};

// Parses "notification-sender=5000;data-platform-forwarder=60000" (milliseconds per
// group). The error names every bad entry.
core::Result<std::map<std::string, std::chrono::milliseconds, std::less<>>> parse_group_intervals(
    const std::map<std::string, std::string>& entries);

}  // namespace paypipe::dlq_retrier
