#include "core/time.hpp"

#include <catch2/catch.hpp>

using namespace paypipe::core;

TEST_CASE("RFC 3339 round trip with milliseconds") {
  const auto t = from_unix_ms(1795419806123);
  const auto text = format_rfc3339(t);
  CHECK(text == "2026-11-23T07:43:26.123Z");
  CHECK(parse_rfc3339(text) == t);
}

TEST_CASE("RFC 3339 parsing accepts offsets and rejects garbage") {
  CHECK(parse_rfc3339("2026-11-23T16:43:26+09:00") == parse_rfc3339("2026-11-23T07:43:26Z"));
  CHECK(parse_rfc3339("2026-11-23T07:43:26.123456Z") == from_unix_ms(1795419806123));
  CHECK_FALSE(parse_rfc3339("2026-11-23"));
  CHECK_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-23T04:23:26"));
  CHECK_FALSE(parse_rfc3339("2026-11-23T04:23:26Zjunk"));
  // Offsets PostgreSQL cannot store (found by schemathesis: a 500 from coupon-issuer).
  CHECK(parse_rfc3339("2026-11-23T04:23:26-15:59"));
  CHECK_FALSE(parse_rfc3339("2000-01-01T00:00:00+16:00"));
  CHECK_FALSE(parse_rfc3339("2000-01-01T00:00:00+01:60"));
}
