#include "http/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace paypipe::http {

RateLimiter::RateLimiter(RateLimit limit) : limit_(limit) {
  if (limit_.enabled()) limit_.burst = std::max(1.0, limit_.burst);
}

RateLimiter::Decision RateLimiter::acquire(std::string_view key, Clock::time_point now) {
  if (!limit_.enabled()) return {};
  auto& shard = shards_[std::hash<std::string_view>{}(key) % shard_count];
  std::lock_guard lock(shard.mutex);
  // A bucket idle for refill_time is full again: the same as no bucket at all.
  const auto refill_time = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limit_.burst / limit_.per_second));
  if (now >= shard.next_sweep) {
    std::erase_if(shard.buckets, [&](const auto& entry) { return now - entry.second.updated >= refill_time; });
    shard.next_sweep = now + std::max<Clock::duration>(refill_time, std::chrono::seconds(10));
  }
  auto [it, fresh] = shard.buckets.try_emplace(std::string(key), Bucket{limit_.burst, now});
  auto& bucket = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(limit_.burst, bucket.tokens + std::max(0.0, elapsed) * limit_.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  const double wait = (1.0 - bucket.tokens) / limit_.per_second;
  return {false, std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))))};
}

Response rate_limited_response(std::chrono::seconds retry_after) {
  auto response = problem_response(
      Problem{429,
              "https://paypipe.dev/problems/rate-limited",
              reason_phrase(429),
              "too many writes from this user; retry after " + std::to_string(retry_after.count()) + " s",
              "rate-limited",
              {}});
  response.headers.push_back({"Retry-After", std::to_string(retry_after.count())});
  return response;
}

}  // namespace paypipe::http
