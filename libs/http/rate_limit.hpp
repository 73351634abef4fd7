#pragma once
// A per-key token bucket (the key is the caller: a token's sub). `per_second` tokens
// flow in, up to `burst`; a request takes one. Keys that have been idle long enough to
// refill are forgotten, so memory follows the active callers, not every caller ever.
// Thread-safe: the keys are spread over shards, each with its own mutex.
//
// Refused requests are answered 429 (problem+json, code "rate-limited") with
// Retry-After: the whole seconds until a token is there again.

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/http.hpp"

namespace paypipe::http {

struct RateLimit {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // bucket size; at least 1 when limited
  bool enabled() const { return per_second > 0; }
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimit limit);

  struct Decision {
    bool allowed = true;
    std::chrono::seconds retry_after{0};
  };
  Decision acquire(std::string_view key, Clock::time_point now = Clock::now());
  const RateLimit& limit() const { return limit_; }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
    Clock::time_point next_sweep;
  };
  static constexpr std::size_t shard_count = 16;

  RateLimit limit_;
  std::array<Shard, shard_count> shards_;
};

// The 429 answer.
Response rate_limited_response(std::chrono::seconds retry_after);

}  // namespace paypipe::http
