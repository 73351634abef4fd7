// runtime::Service and its stop plan without Kafka or PostgreSQL: the order the steps
// run in, the budget each is handed, and what an overrunning step leaves the others.
#include "runtime/service.hpp"

#include <catch2/catch.hpp>

#include "core/log.hpp"
#include "http/client.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// A clock that moves only when a step says it took time.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  runtime::StopPlan::Clock clock() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("the stop plan runs its steps in order, each with its share of what is left") {
  FakeClock time;
  std::vector<std::pair<std::string, std::chrono::milliseconds>> seen;
  runtime::StopPlan plan;
  plan.add("server", 3, [&](std::chrono::milliseconds bound) {
    seen.emplace_back("server", bound);
    time.now += 1000ms;  // quicker than its share
  });
  plan.add("api", [&] { seen.emplace_back("api", 0ms); });
  plan.add("consumer", 3, [&](std::chrono::milliseconds bound) {
    seen.emplace_back("consumer", bound);
    time.now += bound;  // takes all it may
  });
  plan.add("flush", 2, [&](std::chrono::milliseconds bound) { seen.emplace_back("flush", bound); });
  CHECK(plan.names() == std::vector<std::string>{"server", "api", "consumer", "flush"});

  plan.run(8000ms, 250ms, time.clock());

  // server: 3/8 of 8 s; consumer: 3/5 of the 7 s left; flush: the 2.8 s left.
  REQUIRE(seen.size() == 4);
  CHECK(seen[0] == std::pair<std::string, std::chrono::milliseconds>{"server", 3000ms});
  CHECK(seen[1].first == "api");
  CHECK(seen[2] == std::pair<std::string, std::chrono::milliseconds>{"consumer", 4200ms});
  CHECK(seen[3] == std::pair<std::string, std::chrono::milliseconds>{"flush", 2800ms});
}

TEST_CASE("a step that overruns leaves the later steps their remainder, or the minimum") {
  FakeClock time;
  std::vector<std::chrono::milliseconds> bounds;
  runtime::StopPlan plan;
  plan.add("slow", 1, [&](std::chrono::milliseconds bound) {
    bounds.push_back(bound);
    time.now += 7000ms;  // ignores its 5 s bound
  });
  plan.add("next", 1, [&](std::chrono::milliseconds bound) {
    bounds.push_back(bound);
    time.now += bound;
  });
  plan.add("stuck", [&] { time.now += 10s; });  // an untimed step past the deadline
  plan.add("last", 1, [&](std::chrono::milliseconds bound) { bounds.push_back(bound); });

  plan.run(15000ms, 250ms, time.clock());

  // slow: 15 s / 3; next: half of the 8 s left; last: the deadline has passed.
  CHECK(bounds == std::vector<std::chrono::milliseconds>{5000ms, 4000ms, 250ms});
}

TEST_CASE("a service starts its steps in order, serves its probes, and stops by its plan") {
  runtime::CommonConfig config;
  config.service = "test-daemon";
  config.http.address = "127.0.0.1";
  config.http.port = 0;
  config.shutdown_timeout = 2000ms;
  std::vector<std::string> events;
  {
    runtime::Service service(config);
    auto& counter = service.make<int>(0);
    service.readiness().add("counter", [&counter]() -> core::Status { return {}; });
    service.router().get("/count", [&counter](const http::Request&) {
      return http::Response::text(200, std::to_string(++counter), "text/plain");
    });
    service.add_start("first", [&] { events.push_back("start first"); });
    service.add_start("second", [&]() -> core::Status {
      events.push_back("start second");
      return {};
    });
    service.add_stop_http(1);
    service.add_stop("second", 1, [&](std::chrono::milliseconds bound) {
      CHECK(bound > 0ms);
      CHECK(bound <= 2000ms);
      events.push_back("stop second");
    });
    service.add_stop("first", [&] { events.push_back("stop first"); });
    CHECK(service.stop_plan().names() == std::vector<std::string>{"HTTP server", "second", "first"});

    REQUIRE(service.start().ok());
    REQUIRE(service.port() != 0);
    http::Client client;
    const auto base = "http://127.0.0.1:" + std::to_string(service.port());
    auto ready = client.send({"GET", base + "/readyz", {}, "", 5s});
    REQUIRE(ready.ok());
    CHECK(ready->status == 200);
    auto count = client.send({"GET", base + "/count", {}, "", 5s});
    REQUIRE(count.ok());
    CHECK(count->body == "1");

    service.stop();
    service.stop();  // once only
    CHECK(!client.send({"GET", base + "/readyz", {}, "", 1s}).ok());
  }
  CHECK(events == std::vector<std::string>{"start first", "start second", "stop second", "stop first"});
}

TEST_CASE("a failed start step names itself and stops what started") {
  runtime::CommonConfig config;
  config.service = "test-daemon";
  config.http.address = "127.0.0.1";
  config.http.port = 0;
  std::vector<std::string> events;
  {
    runtime::Service service(config);
    service.add_start("relay", [&] { events.push_back("start relay"); });
    service.add_start("consumer", []() -> core::Status {
      return core::make_error(core::ErrorCategory::unavailable, "kafka", "no broker");
    });
    service.add_start("never", [&] { events.push_back("start never"); });
    service.add_stop("relay", [&] { events.push_back("stop relay"); });
    const auto status = service.start();
    REQUIRE(!status.ok());
    CHECK(service.failed_step() == "consumer");
    CHECK(status.error().message == "no broker");
  }  // the destructor runs the stop plan
  CHECK(events == std::vector<std::string>{"start relay", "stop relay"});
}

TEST_CASE("PUT /v1/admin/log-level changes the level with the admin token, and only with it") {
  runtime::CommonConfig config;
  config.service = "test-daemon";
  config.http.address = "127.0.0.1";
  config.http.port = 0;
  config.admin_token = "s3cret-admin";
  spdlog::set_level(spdlog::level::info);
  runtime::Service service(config);
  service.add_stop_http(1);
  REQUIRE(service.start().ok());
  http::Client client;
  const auto url = "http://127.0.0.1:" + std::to_string(service.port()) + "/v1/admin/log-level";
  const std::string body = R"({"level":"debug"})";
  const http::Header json{"content-type", "application/json"};

  auto anonymous = client.send({"PUT", url, {json}, body, 5s});
  REQUIRE(anonymous.ok());
  CHECK(anonymous->status == 401);
  auto wrong = client.send({"PUT", url, {json, {"authorization", "Bearer nope"}}, body, 5s});
  REQUIRE(wrong.ok());
  CHECK(wrong->status == 403);
  CHECK(spdlog::get_level() == spdlog::level::info);

  const http::Header admin{"authorization", "Bearer s3cret-admin"};
  auto bad = client.send({"PUT", url, {json, admin}, R"({"level":"loud"})", 5s});
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  CHECK(spdlog::get_level() == spdlog::level::info);

  auto changed = client.send({"PUT", url, {json, admin}, body, 5s});
  REQUIRE(changed.ok());
  CHECK(changed->status == 200);
  CHECK(changed->body == R"({"previous":"info","level":"debug"})");
  CHECK(spdlog::get_level() == spdlog::level::debug);
  CHECK(core::log::current_level() == "debug");

  auto back = client.send({"PUT", url, {json, admin}, R"({"level":"info"})", 5s});
  REQUIRE(back.ok());
  CHECK(back->body == R"({"previous":"debug","level":"info"})");
  service.stop();
}
