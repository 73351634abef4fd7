#include "coupon_issuer/http_codecs.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"

using namespace paypipe;
using namespace paypipe::coupon_issuer;

namespace {

http::Request post(std::string body, std::map<std::string, std::string> params = {}) {
  http::Request r;
  r.method = "POST";
  r.body = std::move(body);
  r.headers.push_back({"content-type", "application/json"});
  r.path_params = std::move(params);
  return r;
}

// The request as user "user-1" sends it.
core::Result<IssueRequest> parse_issue_request(const http::Request& request) {
  return coupon_issuer::parse_issue_request(request, "user-1");
}

}  // namespace

TEST_CASE("a new coupon needs a name, a discount, a stock and a window that is not empty") {
  auto ok = parse_new_coupon(post(R"({"name":"Welcome 10%","discount":1000,"totalStock":100,)"
                                  R"("validFrom":"2027-01-01T00:00:00Z","validUntil":"2027-02-01T00:00:00+09:00"})"));
  REQUIRE(ok.ok());
  CHECK(ok->name == "Welcome 10%");
  CHECK(ok->discount == 1000);
  CHECK(ok->total_stock == 100);
  CHECK(ok->valid_until == "2027-02-01T00:00:00+09:00");

  auto bad = parse_new_coupon(post(R"({"name":"","discount":-1,"totalStock":"many","validFrom":"soon"})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  for (const char* field : {"name", "discount", "totalStock", "validFrom", "validUntil"}) {
    INFO(field);
    CHECK(bad.error().message.find(field) != std::string::npos);
  }

  auto backwards = parse_new_coupon(post(R"({"name":"x","discount":1,"totalStock":1,)"
                                         R"("validFrom":"2027-02-01T00:00:00Z","validUntil":"2027-01-01T00:00:00Z"})"));
  REQUIRE_FALSE(backwards.ok());
  CHECK(backwards.error().message.find("validUntil") != std::string::npos);
  CHECK_FALSE(parse_new_coupon(post("{")).ok());
}

TEST_CASE("an issue request names a UUID coupon in its path and a user in its body") {
  auto ok = parse_issue_request(post(R"({"userId":"user-1"})", {{"couponId", "0190A6B2-7C3E-7ABC-8DEF-00000000000C"}}));
  REQUIRE(ok.ok());
  CHECK(ok->coupon_id == "0190a6b2-7c3e-7abc-8def-00000000000c");
  CHECK(ok->user_id == "user-1");

  auto bad_coupon = parse_issue_request(post(R"({"userId":"user-1"})", {{"couponId", "coupon-1"}}));
  REQUIRE_FALSE(bad_coupon.ok());
  CHECK(bad_coupon.error().message.find("couponId") != std::string::npos);
  auto from_token = coupon_issuer::parse_issue_request(post("", {{"couponId", "0190a6b2-7c3e-7abc-8def-00000000000c"}}),
                                                       "ann");
  REQUIRE(from_token.ok());
  CHECK(from_token->user_id == "ann");
  auto other = coupon_issuer::parse_issue_request(
      post(R"({"userId":"user-1"})", {{"couponId", "0190a6b2-7c3e-7abc-8def-00000000000c"}}), "ann");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().category == core::ErrorCategory::forbidden);
  auto bad_user = parse_issue_request(
      post(R"({"userId":"a b"})", {{"couponId", "0190a6b2-7c3e-7abc-8def-00000000000c"}}));
  REQUIRE_FALSE(bad_user.ok());
  CHECK(bad_user.error().message.find("userId") != std::string::npos);
}

TEST_CASE("limit and user parameters are checked") {
  http::Request r;
  CHECK(*limit_param(r, 100, 1000) == 100);
  r.query["limit"] = "7";
  CHECK(*limit_param(r, 100, 1000) == 7);
  for (const char* bad : {"0", "1001", "-1", "7x", ""}) {
    r.query["limit"] = bad;
    CHECK_FALSE(limit_param(r, 100, 1000).ok());
  }
  r.path_params["userId"] = "alice";
  CHECK(user_param(r).ok());
  r.path_params["userId"] = "al ice";
  CHECK_FALSE(user_param(r).ok());
}

TEST_CASE("answers carry what a client needs to follow a request") {
  const PendingRequest pending{"0190a6b2-7c3e-7abc-8def-0000000000a1", "0190a6b2-7c3e-7abc-8def-00000000000c", "u1",
                               "2027-01-15T08:00:00.000Z"};
  auto accepted = core::json::parse(accepted_json(pending));
  REQUIRE(accepted.ok());
  CHECK(std::string((*accepted)["statusUrl"].GetString()) ==
        "/v1/coupon-requests/0190a6b2-7c3e-7abc-8def-0000000000a1");
  CHECK(std::string((*accepted)["status"].GetString()) == "PENDING");
  CHECK(std::string((*accepted)["streamUrl"].GetString()) == "/v1/coupon-requests/stream");

  StoredRequest rejected{
      pending.request_id,   pending.coupon_id,          "u1",        "REJECTED", "OUT_OF_STOCK", std::nullopt,
      pending.requested_at, "2027-01-15T08:00:01.000Z", std::nullopt};
  auto doc = core::json::parse(request_json(rejected));
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["reason"].GetString()) == "OUT_OF_STOCK");
  CHECK_FALSE(doc->HasMember("issuedCouponId"));

  auto list = core::json::parse(user_coupons_json("u1", {HeldCoupon{"i1", "c1", "Welcome", 1000, "v", "t", "r1"}}));
  REQUIRE(list.ok());
  REQUIRE((*list)["coupons"].Size() == 1);
  CHECK((*list)["coupons"][0]["discount"].GetInt64() == 1000);
}
