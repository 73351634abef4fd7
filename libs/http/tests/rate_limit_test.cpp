#include "http/rate_limit.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("token bucket: a burst, then the rate, per key") {
  http::RateLimiter limiter({2, 3});
  const auto t0 = http::RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("alice", t0).allowed);
  const auto refused = limiter.acquire("alice", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 1s);
  CHECK(limiter.acquire("bob", t0).allowed);  // another user's bucket
  CHECK(limiter.acquire("alice", t0 + 500ms).allowed);  // 2/s: one token after 0.5 s
  CHECK_FALSE(limiter.acquire("alice", t0 + 600ms).allowed);
  // Idle long enough, the bucket is full again (and may have been forgotten).
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("alice", t0 + 60s).allowed);
  CHECK_FALSE(limiter.acquire("alice", t0 + 60s).allowed);
}

TEST_CASE("a slow rate asks for a longer wait; 0 means no limit") {
  http::RateLimiter slow({0.1, 1});
  const auto t0 = http::RateLimiter::Clock::time_point{} + 1000s;
  CHECK(slow.acquire("u", t0).allowed);
  CHECK(slow.acquire("u", t0).retry_after == 10s);
  http::RateLimiter off({0, 0});
  for (int i = 0; i < 1000; ++i) CHECK(off.acquire("u", t0).allowed);
}

TEST_CASE("the 429 answer is problem+json with Retry-After") {
  const auto r = http::rate_limited_response(7s);
  CHECK(r.status == 429);
  CHECK(r.content_type == "application/problem+json");
  CHECK(r.body.find("\"code\":\"rate-limited\"") != std::string::npos);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].name == "Retry-After");
  CHECK(r.headers[0].value == "7");
}
