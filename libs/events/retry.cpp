#include "events/retry.hpp"

#include <algorithm>
#include <cmath>

namespace paypipe::events {

std::chrono::milliseconds RetryPolicy::delay(int retry, std::optional<std::chrono::milliseconds> retry_after) const {
  double millis = static_cast<double>(initial_delay.count()) * std::pow(multiplier, std::max(0, retry - 1));
  millis = std::min(millis, static_cast<double>(max_delay.count()));
  auto result = std::chrono::milliseconds(static_cast<std::int64_t>(millis));
  if (retry_after && *retry_after > result) result = *retry_after;
  return result;
}

}  // namespace paypipe::events
