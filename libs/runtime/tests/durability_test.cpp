// The start-up durability check against the real broker: a topic created a moment after
// the daemon starts (the chart's hook Job, a harness) is waited for, not reported missing.
#include <catch2/catch.hpp>

#include <thread>

#include "events/producer.hpp"
#include "runtime/daemon.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

runtime::CommonConfig production_config() {
  runtime::CommonConfig config;
  config.service = "durability-test";
  config.local_profile = false;
  config.kafka = testing::kafka_options(testing::unique_name("durability") + ".");
  return config;
}

}  // namespace

TEST_CASE("the durability check waits for a topic that is created while it runs") {
  const auto config = production_config();
  auto producer = events::Producer::create(config.kafka);
  REQUIRE(producer.ok());

  // The creation comes later than the check's first look, as a hook Job's can.
  std::jthread creator([&] {
    std::this_thread::sleep_for(1500ms);
    testing::create_topics(config.kafka, {"payment.completed"}, 1);
  });
  const auto status = runtime::check_durability(config, **producer, {"payment.completed"}, 30s);

  // The test stack has one broker, so the topic is found and its replication refused.
  REQUIRE_FALSE(status.ok());
  const auto& message = status.error().message;
  CHECK_THAT(message, !Contains("does not exist"));
  CHECK_THAT(message, Contains("has replication 1"));
}

TEST_CASE("the durability check reports a topic still missing when its wait is over") {
  const auto config = production_config();
  auto producer = events::Producer::create(config.kafka);
  REQUIRE(producer.ok());

  const auto started = std::chrono::steady_clock::now();
  const auto status = runtime::check_durability(config, **producer, {"payment.completed"}, 1s);
  const auto waited = std::chrono::steady_clock::now() - started;

  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Contains("does not exist"));
  CHECK(waited >= 1s);
}
