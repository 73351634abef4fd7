// Readiness and Liveness without a daemon: what /readyz and /healthz answer for loops
// that run, died, got stuck or wait out an outage.
#include "runtime/daemon.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

struct FakeLoop {
  std::atomic<bool> running{true};
  std::atomic<std::chrono::steady_clock::rep> beat{std::chrono::steady_clock::now().time_since_epoch().count()};
  std::optional<core::Error> stalled;

  runtime::LoopSignals signals() {
    return {[this] { return running.load(); },
            [this] { return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(beat.load())); },
            [this] { return stalled; }};
  }
  void age(std::chrono::seconds by) { beat = (std::chrono::steady_clock::now() - by).time_since_epoch().count(); }
};

}  // namespace

TEST_CASE("readiness and liveness answer 200 while every check passes, 503 naming the failing one") {
  runtime::Readiness readiness;
  bool database_up = true;
  readiness.add("postgres", [&]() -> core::Status {
    if (database_up) return {};
    return core::make_error(core::ErrorCategory::unavailable, "pg-connect", "cannot connect");
  });
  CHECK(readiness.respond().status == 200);
  CHECK(readiness.respond().body.find("\"status\":\"ready\"") != std::string::npos);
  database_up = false;
  const auto down = readiness.respond();
  CHECK(down.status == 503);
  CHECK(down.body.find("cannot connect") != std::string::npos);
  CHECK(readiness.failing() == std::vector<std::string>{"postgres"});

  runtime::Liveness empty;
  CHECK(empty.respond().status == 200);
  CHECK(empty.respond().body.find("\"status\":\"alive\"") != std::string::npos);
}

TEST_CASE("a loop that died fails liveness, not readiness") {
  FakeLoop loop;
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::watch_loop(readiness, liveness, "consumer", loop.signals(), 60s);
  CHECK(liveness.respond().status == 200);
  loop.running = false;
  const auto dead = liveness.respond();
  CHECK(dead.status == 503);
  CHECK(dead.body.find("the consumer loop stopped") != std::string::npos);
  CHECK(readiness.respond().status == 200);
}

TEST_CASE("a loop whose heartbeat is older than the watchdog bound fails liveness") {
  FakeLoop loop;
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::watch_loop(readiness, liveness, "consumer", loop.signals(), 30s);
  loop.age(20s);
  CHECK(liveness.respond().status == 200);
  loop.age(31s);
  CHECK(liveness.respond().status == 503);
  CHECK(liveness.failing() == std::vector<std::string>{"consumer"});
  loop.age(0s);
  CHECK(liveness.respond().status == 200);
}

TEST_CASE("a consumer waiting out an infrastructure error is alive but not ready") {
  FakeLoop loop;
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::watch_loop(readiness, liveness, "consumer", loop.signals(), 60s);
  loop.stalled = core::make_error(core::ErrorCategory::unavailable, "pg-connection", "PostgreSQL is unreachable");
  const auto not_ready = readiness.respond();
  CHECK(not_ready.status == 503);
  CHECK(not_ready.body.find("PostgreSQL is unreachable") != std::string::npos);
  CHECK(liveness.respond().status == 200);
  loop.stalled.reset();
  CHECK(readiness.respond().status == 200);
}

TEST_CASE("a loop without a stall signal adds no readiness check") {
  FakeLoop loop;
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  auto signals = loop.signals();
  signals.stalled_on = {};
  runtime::watch_loop(readiness, liveness, "outbox-relay", signals, 60s);
  loop.running = false;
  CHECK(readiness.respond().status == 200);
  CHECK(liveness.failing() == std::vector<std::string>{"outbox-relay"});
}
