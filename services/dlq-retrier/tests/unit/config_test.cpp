#include "dlq_retrier/config.hpp"

#include <catch2/catch.hpp>

#include "events/consumer.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;
using namespace std::chrono_literals;

namespace {
core::Env env_with(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> vars{{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "k:9092"},
                                          {"PAYPIPE_PG_DSN", "postgresql://u@h/db"}};
  vars.insert(extra.begin(), extra.end());
  return core::Env(vars);
}
}  // namespace

TEST_CASE("dlq-retrier's defaults: 3 attempts, 5 minutes, a transactional id from a producer slot") {
  auto env = env_with({{"PAYPIPE_TOPIC_PREFIX", "staging."}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.schedule.max_attempts == 3);
  CHECK(c.schedule.delay("notification-sender", 1) == 300000ms);
  CHECK(c.schedule.delay("notification-sender", 3) == 300000ms);
  CHECK(c.transactional_id.empty());  // main claims a slot
  CHECK(c.slot_scope() == "staging.dlq-retrier-");
  CHECK(c.batch_size == 500);
  CHECK(c.admin_token.empty());
  CHECK(c.common.database.connect.schema == "dlq_retrier");
  const auto consumer = c.consumer_settings();
  CHECK(consumer.group == "dlq-retrier");
  REQUIRE(consumer.topics.size() == 1);
  // The pattern, under the prefix, matches every group's dead-letter topic and nothing else.
  CHECK(events::prefixed_topic(c.common.kafka.topic_prefix, consumer.topics[0]) == "^staging\\.dlq\\..+");
}

TEST_CASE("every dlq-retrier variable reaches its field") {
  auto env = env_with({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "5"},
                       {"PAYPIPE_RETRY_DELAY_MS", "1000"},
                       {"PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT", "200"},
                       {"PAYPIPE_RETRY_MAX_DELAY_MS", "3000"},
                       {"PAYPIPE_RETRY_DELAYS", "notification-sender=50;data-platform-forwarder=60000"},
                       {"PAYPIPE_RETRIER_TRANSACTIONAL_ID", "dlq-retrier-0"},
                       {"PAYPIPE_RETRIER_BATCH_SIZE", "20"},
                       {"PAYPIPE_RETRIER_TRANSACTION_TIMEOUT_MS", "15000"},
                       {"PAYPIPE_ADMIN_TOKEN", "s3cret"}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.schedule.max_attempts == 5);
  CHECK(c.schedule.delay("ranking-updater", 1) == 1000ms);
  CHECK(c.schedule.delay("ranking-updater", 2) == 2000ms);
  CHECK(c.schedule.delay("ranking-updater", 4) == 3000ms);
  CHECK(c.schedule.delay("notification-sender", 1) == 50ms);
  CHECK(c.schedule.delay("data-platform-forwarder", 1) == 3000ms);  // capped
  CHECK(c.transactional_id == "dlq-retrier-0");
  CHECK(c.batch_size == 20);
  CHECK(c.transaction_timeout == 15000ms);
  CHECK(c.admin_token == "s3cret");
}

TEST_CASE("bad dlq-retrier variables are all reported, by name, secrets unechoed") {
  auto env = env_with({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "0"},
                       {"PAYPIPE_RETRY_DELAYS", "notification-sender=soon"},
                       {"PAYPIPE_RETRIER_BATCH_SIZE", "many"},
                       {"PAYPIPE_RETRY_DELAY_MSS", "5"}});
  (void)Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  for (const auto* name : {"PAYPIPE_RETRY_MAX_ATTEMPTS", "PAYPIPE_RETRY_DELAYS", "PAYPIPE_RETRIER_BATCH_SIZE",
                           "PAYPIPE_RETRY_DELAY_MSS"}) {
    CHECK(status.error().message.find(name) != std::string::npos);
  }
}
