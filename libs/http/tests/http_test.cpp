#include "http/http.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace paypipe;

TEST_CASE("parse_target decodes the path and the query") {
  std::string path;
  std::map<std::string, std::string> query;
  REQUIRE(http::parse_target("/v1/a%20b/c?x=1&y=hello+world&z=%2F&empty", path, query));
  CHECK(path == "/v1/a b/c");
  CHECK(query.at("x") == "1");
  CHECK(query.at("y") == "hello world");
  CHECK(query.at("z") == "/");
  CHECK(query.at("empty").empty());
  CHECK_FALSE(http::parse_target("no-slash", path, query));
  CHECK_FALSE(http::parse_target("/bad%zz", path, query));
  CHECK_FALSE(http::parse_target("/bad%2", path, query));
}

TEST_CASE("problem_for maps every error category to its status") {
  using core::ErrorCategory;
  const std::pair<ErrorCategory, int> cases[] = {
      {ErrorCategory::invalid_input, 400},    {ErrorCategory::unauthenticated, 401},
      {ErrorCategory::payment_required, 402}, {ErrorCategory::forbidden, 403},
      {ErrorCategory::not_found, 404},        {ErrorCategory::conflict, 409},
      {ErrorCategory::unprocessable, 422},    {ErrorCategory::too_many_requests, 429},
      {ErrorCategory::unavailable, 503},      {ErrorCategory::internal, 500}};
  for (const auto& [category, status] : cases) {
    const auto problem = http::problem_for(core::make_error(category, "some-code", "detail text"));
    CHECK(problem.status == status);
    CHECK(problem.code == "some-code");
    CHECK(problem.type == "https://paypipe.dev/problems/some-code");
  }
}

TEST_CASE("internal errors never leak their message to the client") {
  const auto response = http::error_response(
      core::make_error(core::ErrorCategory::internal, "pg-42P01", "relation \"secret_table\" does not exist"));
  CHECK(response.status == 500);
  CHECK(response.content_type == "application/problem+json");
  CHECK(response.body.find("secret_table") == std::string::npos);
}

TEST_CASE("an unavailable answer tells the client when to try again") {
  // Kubernetes clients and the fault suite's pg-outage check read Retry-After on a 503.
  const auto response = http::error_response(core::make_error(core::ErrorCategory::unavailable, "pg-connect", "down"));
  CHECK(response.status == 503);
  const auto retry_after = std::count_if(response.headers.begin(), response.headers.end(),
                                         [](const auto& h) { return h.name == "Retry-After"; });
  CHECK(retry_after == 1);
  const auto ok = http::error_response(core::make_error(core::ErrorCategory::not_found, "x", "y"));
  CHECK(std::none_of(ok.headers.begin(), ok.headers.end(), [](const auto& h) { return h.name == "Retry-After"; }));
}

TEST_CASE("constant_time_equals compares whole strings") {
  CHECK(http::constant_time_equals("token-abc", "token-abc"));
  CHECK_FALSE(http::constant_time_equals("token-abc", "token-abd"));
  CHECK_FALSE(http::constant_time_equals("token-abc", "token-ab"));
  CHECK_FALSE(http::constant_time_equals("", "x"));
  CHECK(http::constant_time_equals("", ""));
}

TEST_CASE("url_encode round-trips through url_decode") {
  const std::string text = "a b/c?d=e&f+g%h";
  CHECK(http::url_decode(http::url_encode(text), false) == text);
}
