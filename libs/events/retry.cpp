#include "events/retry.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace paypipe::events {

std::chrono::milliseconds RetryPolicy::delay(int retry, std::optional<std::chrono::milliseconds> retry_after) const {
  double millis = static_cast<double>(initial_delay.count()) * std::pow(multiplier, std::max(0, retry - 1));
  millis = std::min(millis, static_cast<double>(max_delay.count()));
  auto result = std::chrono::milliseconds(static_cast<std::int64_t>(millis));
  if (retry_after && *retry_after > result) result = *retry_after;
  return result;
}

const StopFlag& never_stop() {
  static const StopFlag never{false};
  return never;
}

namespace {

class SteadyRetryClock final : public RetryClock {
 public:
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::now(); }
  void sleep(std::chrono::milliseconds duration, const StopFlag& stop) override {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (!stop) {
      const auto left = until - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, stop_check));
    }
  }
};

}  // namespace

RetryClock& steady_retry_clock() {
  static SteadyRetryClock clock;
  return clock;
}

}  // namespace paypipe::events
