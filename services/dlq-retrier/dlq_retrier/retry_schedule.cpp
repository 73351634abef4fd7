#include "dlq_retrier/retry_schedule.hpp"

#include <algorithm>
#include <charconv>

namespace paypipe::dlq_retrier {

std::chrono::milliseconds RetrySchedule::delay(std::string_view group, int failed_attempt) const {
  auto policy = backoff;
  if (const auto it = group_intervals.find(group); it != group_intervals.end()) {
    // A fixed backoff's cap is its interval: the group's own interval replaces both.
    if (policy.fixed()) policy.max_delay = it->second;
    policy.initial_delay = it->second;
  }
  return policy.delay(std::max(1, failed_attempt));
}

std::chrono::milliseconds RetrySchedule::longest_delay() const {
  // Unlimited deliveries: the delays stop growing at the cap long before this.
  const int last = backoff.max_attempts == 0 ? 64 : max_deliveries() - 1;
  std::chrono::milliseconds longest{0};
  for (int attempt = 1; attempt <= last; ++attempt) {
    longest = std::max(longest, backoff.delay(attempt));
    for (const auto& [group, interval] : group_intervals) longest = std::max(longest, delay(group, attempt));
  }
  return longest;
}

core::Result<std::map<std::string, std::chrono::milliseconds, std::less<>>> parse_group_intervals(
    const std::map<std::string, std::string>& entries) {
  constexpr std::int64_t max_ms = 24LL * 3600 * 1000;
  std::map<std::string, std::chrono::milliseconds, std::less<>> delays;
  std::string errors;
  for (const auto& [group, text] : entries) {
    std::int64_t value = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > max_ms) {
      errors += (errors.empty() ? "" : "; ") + group + "=" + text + " (milliseconds from 0 to " +
                std::to_string(max_ms) + ")";
      continue;
    }
    delays[group] = std::chrono::milliseconds(value);
  }
  if (!errors.empty()) return core::make_error(core::ErrorCategory::invalid_input, "bad-group-intervals", errors);
  return delays;
}

}  // namespace paypipe::dlq_retrier
