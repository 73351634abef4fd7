#include "http/router.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;

namespace {
http::Response ok(const http::Request&) { return http::Response::json(200, "{}"); }
}  // namespace

TEST_CASE("router matches literal and parameter segments") {
  http::Router router;
  router.get("/v1/payments/{id}", ok).post("/v1/payments", ok).get("/v1/wallets/{userId}/history", ok);
  auto m = router.match("GET", "/v1/payments/abc");
  REQUIRE(m.route != nullptr);
  CHECK(m.route->pattern == "/v1/payments/{id}");
  CHECK(m.params.at("id") == "abc");
  m = router.match("GET", "/v1/wallets/u1/history");
  REQUIRE(m.route != nullptr);
  CHECK(m.params.at("userId") == "u1");
}

TEST_CASE("router splits the path as sent and decodes each segment after") {
  http::Router router;
  router.get("/v1/items/{id}", ok).get("/v1/items/{id}/parts", ok);
  auto m = router.match("GET", "/v1/items/a%2Fb");
  REQUIRE(m.route != nullptr);
  CHECK(m.route->pattern == "/v1/items/{id}");
  CHECK(m.params.at("id") == "a/b");
  m = router.match("GET", "/v1/items/a%2Fb/parts");
  REQUIRE(m.route != nullptr);
  CHECK(m.params.at("id") == "a/b");
  CHECK(router.match("GET", "/v1/%69tems/x").route != nullptr);  // unreserved escapes match literally
  CHECK(router.match("GET", "/v1/items/a+b").params.at("id") == "a+b");  // '+' is no space in a path
}

TEST_CASE("router answers 404 for unknown paths and 405 with Allow for wrong methods") {
  http::Router router;
  router.get("/v1/payments/{id}", ok).post("/v1/payments", ok).del("/v1/payments/{id}", ok);
  CHECK(router.match("GET", "/v1/nothing").status == 404);
  CHECK(router.match("GET", "/v1/payments/").status == 404);  // empty parameter
  const auto m = router.match("PUT", "/v1/payments/x");
  CHECK(m.status == 405);
  CHECK(m.allow == "DELETE, GET");
}

TEST_CASE("require_bearer distinguishes missing and wrong tokens") {
  http::Request request;
  CHECK(http::require_bearer(request, "s3cret").error().category == core::ErrorCategory::unauthenticated);
  request.headers.push_back({"authorization", "Bearer nope"});
  CHECK(http::require_bearer(request, "s3cret").error().category == core::ErrorCategory::forbidden);
  request.headers.back().value = "Bearer s3cret";
  CHECK(http::require_bearer(request, "s3cret").ok());
  CHECK_FALSE(http::require_bearer(request, "").ok());  // not configured: refuse
}

TEST_CASE("json_body refuses other media types and bad JSON") {
  http::Request request;
  request.body = R"({"a":1})";
  CHECK(http::json_body(request).ok());
  request.headers.push_back({"content-type", "text/plain"});
  CHECK_FALSE(http::json_body(request).ok());
  request.headers.back().value = "application/json; charset=utf-8";
  request.body = "{";
  CHECK_FALSE(http::json_body(request).ok());
}
