#include "dlq_retrier/http_api.hpp"

#include <catch2/catch.hpp>

#include "support/openapi.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;

namespace {

// The routes with real dependencies that are never reached: the admin check comes first.
struct Fixture {
  pg::Pool pool{[] {
    pg::PoolOptions options;
    options.connect.dsn = "postgresql://nobody@127.0.0.1:1/none";
    options.size = 1;
    return options;
  }()};
  std::unique_ptr<events::Producer> producer = [] {
    events::KafkaOptions options;
    options.bootstrap_servers = "127.0.0.1:1";  // librdkafka connects lazily; nothing is sent
    return events::Producer::create(options).value();
  }();
  ParkedOperations operations{pool, *producer, producer->options()};
  WaitingOperations waiting{pool, *producer, producer->options(), RetrySchedule{}, "dlq-retrier"};
  http::Router router;

  Fixture() {
    add_parked_routes(router, operations, "s3cret");
    add_waiting_routes(router, waiting, "s3cret");
  }

  http::Response call(const std::string& method, const std::string& path, std::vector<http::Header> headers = {},
                      std::map<std::string, std::string> query = {}, std::string body = {}) {
    auto match = router.match(method, path);
    REQUIRE(match.route != nullptr);
    http::Request request;
    request.method = method;
    request.path = path;
    request.headers = std::move(headers);
    request.query = std::move(query);
    request.path_params = match.params;
    request.body = std::move(body);
    return match.route->handler(request);
  }
};

}  // namespace

TEST_CASE("the router serves exactly the routes of proto/http/dlq-retrier.yaml") {
  Fixture f;
  CHECK(testing::router_routes(f.router) == testing::openapi_routes(PAYPIPE_OPENAPI_SPEC));
}

TEST_CASE("every parked route needs the admin token: 401 without, 403 with a wrong one") {
  Fixture f;
  const std::vector<std::pair<std::string, std::string>> routes{{"GET", "/v1/parked"},
                                                                {"GET", "/v1/parked/1"},
                                                                {"POST", "/v1/parked/1/replay"},
                                                                {"POST", "/v1/parked/replay"},
                                                                {"DELETE", "/v1/parked/1"},
                                                                {"GET", "/v1/dead-letters"},
                                                                {"GET", "/v1/dead-letters/g1"},
                                                                {"POST", "/v1/dead-letters/g1/retry"},
                                                                {"POST", "/v1/dead-letters/g1/0/5/retry"},
                                                                {"POST", "/v1/dead-letters/g1/0/5/skip"}};
  for (const auto& [method, path] : routes) {
    INFO(method << " " << path);
    CHECK(f.call(method, path).status == 401);
    CHECK(f.call(method, path, {{"authorization", "Bearer wrong"}}).status == 403);
    CHECK(f.call(method, path, {{"authorization", "Basic s3cret"}}).status == 401);
  }
}

TEST_CASE("with the token, bad input is refused before any database work") {
  Fixture f;
  const std::vector<http::Header> token{{"authorization", "Bearer s3cret"}};
  CHECK(f.call("GET", "/v1/parked/abc", token).status == 400);
  CHECK(f.call("POST", "/v1/parked/0/replay", token).status == 400);
  CHECK(f.call("POST", "/v1/parked/replay", token).status == 400);  // no group
  CHECK(f.call("GET", "/v1/parked", token, {{"limit", "100000"}}).status == 400);
}

TEST_CASE("the dead-letter routes refuse bad input before any Kafka or database work") {
  Fixture f;
  std::vector<http::Header> token{{"authorization", "Bearer s3cret"}};
  CHECK(f.call("GET", "/v1/dead-letters", token, {{"group", "a/b"}}).status == 400);
  CHECK(f.call("GET", "/v1/dead-letters", token, {{"colour", "red"}}).status == 400);
  CHECK(f.call("GET", "/v1/dead-letters/g1", token, {{"limit", "0"}}).status == 400);
  CHECK(f.call("GET", "/v1/dead-letters/g1", token, {{"cursor", "x"}}).status == 400);
  CHECK(f.call("POST", "/v1/dead-letters/g1/x/5/retry", token).status == 400);
  CHECK(f.call("POST", "/v1/dead-letters/g1/0/-5/retry", token).status == 400);
  CHECK(f.call("POST", "/v1/dead-letters/g1/0/5/skip", token).status == 400);  // no body
  token.push_back({"content-type", "application/json"});
  CHECK(f.call("POST", "/v1/dead-letters/g1/0/5/skip", token, {}, R"({"reason":""})").status == 400);
  const auto problem = f.call("POST", "/v1/dead-letters/g1/0/5/skip", token, {}, R"({"why":"x"})");
  CHECK(problem.status == 400);
  CHECK(problem.content_type == "application/problem+json");
}
