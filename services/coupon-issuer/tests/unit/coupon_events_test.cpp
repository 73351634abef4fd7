#include "coupon_issuer/coupon_events.hpp"

#include <catch2/catch.hpp>

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"
#include "core/trace.hpp"
#include "events/schemas.hpp"

using namespace paypipe;
using namespace paypipe::coupon_issuer;
using namespace std::chrono_literals;

namespace {

const auto opens = core::from_unix_ms(1'800'000'000'000);
const std::string coupon = "0190a6b2-7c3e-7abc-8def-00000000000c";
const std::string request_id = "0190a6b2-7c3e-7abc-8def-0000000000a1";
const std::string issued_id = "0190a6b2-7c3e-7abc-8def-0000000000b1";
const std::string source = "/paypipe/coupon-issuer";
const std::string now = "2027-01-15T08:00:00.000Z";

CouponBook book() {
  CouponBook b;
  CouponState state;
  state.coupon_id = coupon;
  state.name = "Welcome";
  state.discount = 500;
  state.remaining_stock = 1;
  state.valid_from = opens;
  state.valid_until = opens + 24h;
  state.valid_until_text = core::format_rfc3339(opens + 24h);
  b.coupons[coupon] = state;
  return b;
}

const CouponRequest request{request_id, coupon, "alice", opens + 1h};

}  // namespace

TEST_CASE("an issued request announces coupon.issued keyed by the user, with the coupon's terms") {
  const auto trace = core::TraceContext::generate();
  core::TraceScope scope(trace);
  const auto e = outcome_event(request, Verdict::issued, issued_id, book(), source, now);
  CHECK(e.type == contracts::CouponIssued::type);
  CHECK(events::SchemaRegistry::builtin().validate(e.type, e.data).ok());
  CHECK(e.key == "alice");
  CHECK(e.source == source);
  CHECK(e.traceparent.find(trace.trace_id) != std::string::npos);
  auto data = contracts::decode_coupon_issued(e.data);
  REQUIRE(data.ok());
  CHECK(data->request_id == request_id);
  CHECK(data->issued_coupon_id == issued_id);
  CHECK(data->coupon_name == "Welcome");
  CHECK(data->discount == 500);
  CHECK(data->valid_until == core::format_rfc3339(opens + 24h));
  CHECK(data->issued_at == now);
}

TEST_CASE("every refusal announces coupon.rejected with its reason, keyed by the user") {
  for (const auto verdict : {Verdict::not_found, Verdict::expired, Verdict::already_issued, Verdict::out_of_stock}) {
    const auto e = outcome_event(request, verdict, {}, book(), source, now);
    CHECK(e.type == contracts::CouponRejected::type);
    CHECK(events::SchemaRegistry::builtin().validate(e.type, e.data).ok());
    CHECK(e.key == "alice");
    auto data = contracts::decode_coupon_rejected(e.data);
    REQUIRE(data.ok());
    CHECK(data->reason == reason_of(verdict));
    CHECK(data->rejected_at == now);
  }
  // A coupon that does not exist is not in the book: the refusal needs nothing from it.
  CHECK(outcome_event(request, Verdict::not_found, {}, CouponBook{}, source, now).type ==
        contracts::CouponRejected::type);
}
