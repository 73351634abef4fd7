#include "dlq_retrier/config.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include "dlq_retrier/decision.hpp"
#include "events/admin.hpp"
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

TEST_CASE("dlq-retrier's defaults: 3 re-deliveries 5 minutes apart, a transactional id from a producer slot") {
  auto env = env_with({{"PAYPIPE_TOPIC_PREFIX", "staging."}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(env.warnings().empty());
  CHECK(c.schedule.backoff.max_retries() == 3);
  CHECK(c.schedule.max_deliveries() == 4);
  CHECK(c.schedule.backoff.fixed());
  CHECK(c.schedule.delay("notification-sender", 1) == 300000ms);
  CHECK(c.schedule.delay("notification-sender", 3) == 300000ms);
  CHECK(c.transactional_id.empty());  // main claims a slot
  CHECK(c.slot_scope() == "staging.dlq-retrier-");
  CHECK(c.batch_size == 500);
  CHECK(c.retried_retention == std::chrono::hours(24 * 7));
  CHECK(c.admin_token.empty());
  CHECK(c.common.database.connect.schema == "dlq_retrier");
  const auto consumer = c.consumer_settings();
  CHECK(consumer.group == "dlq-retrier");
  REQUIRE(consumer.topics.size() == 1);
  // The pattern, under the prefix, matches every group's dead-letter topic and nothing else.
  CHECK(events::prefixed_topic(c.common.kafka.topic_prefix, consumer.topics[0]) == "^staging\\.dlq\\..+");
}

TEST_CASE("every dlq-retrier variable reaches its field") {
  auto env = env_with({{"PAYPIPE_RETRIER_MAX_RETRIES", "4"},
                       {"PAYPIPE_RETRIER_BACKOFF", "exponential"},
                       {"PAYPIPE_RETRIER_INTERVAL_MS", "1000"},
                       {"PAYPIPE_RETRIER_MULTIPLIER", "2.0"},
                       {"PAYPIPE_RETRIER_MAX_INTERVAL_MS", "3000"},
                       {"PAYPIPE_RETRIER_GROUP_INTERVALS", "notification-sender=50;data-platform-forwarder=60000"},
                       {"PAYPIPE_RETRIER_TRANSACTIONAL_ID", "dlq-retrier-0"},
                       {"PAYPIPE_RETRIER_BATCH_SIZE", "20"},
                       {"PAYPIPE_RETRIER_TRANSACTION_TIMEOUT_MS", "15000"},
                       {"PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS", "48"},
                       {"PAYPIPE_ADMIN_TOKEN", "s3cret"}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(env.warnings().empty());
  CHECK(c.schedule.backoff.max_retries() == 4);
  CHECK(c.schedule.max_deliveries() == 5);
  CHECK(c.schedule.exhausted(5));
  CHECK_FALSE(c.schedule.exhausted(4));
  CHECK(c.schedule.delay("ranking-updater", 1) == 1000ms);
  CHECK(c.schedule.delay("ranking-updater", 2) == 2000ms);
  CHECK(c.schedule.delay("ranking-updater", 4) == 3000ms);
  CHECK(c.schedule.delay("notification-sender", 1) == 50ms);
  CHECK(c.schedule.delay("data-platform-forwarder", 1) == 3000ms);  // capped
  CHECK(c.transactional_id == "dlq-retrier-0");
  CHECK(c.batch_size == 20);
  CHECK(c.transaction_timeout == 15000ms);
  CHECK(c.retried_retention == std::chrono::hours(48));
  CHECK(c.admin_token == "s3cret");
}

TEST_CASE("the deprecated PAYPIPE_RETRY_* of dlq-retrier keep a deployment's schedule, with warnings") {
  // What the chart rendered before (values-production.yaml): 3 deliveries in all,
  // 5 min x2 up to 1 h, notification-sender after 1 min.
  auto env = env_with({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "3"},
                       {"PAYPIPE_RETRY_DELAY_MS", "300000"},
                       {"PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT", "200"},
                       {"PAYPIPE_RETRY_MAX_DELAY_MS", "3600000"},
                       {"PAYPIPE_RETRY_DELAYS", "notification-sender=60000"}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.schedule.max_deliveries() == 3);
  CHECK(c.schedule.exhausted(3));
  CHECK_FALSE(c.schedule.exhausted(2));
  CHECK(c.schedule.delay("ranking-updater", 2) == 600000ms);
  CHECK(c.schedule.delay("notification-sender", 1) == 60000ms);
  std::string warnings;
  for (const auto& w : env.warnings()) warnings += w + "\n";
  CHECK(warnings.find("PAYPIPE_RETRY_MAX_ATTEMPTS: deprecated (it counts attempts in all, the first included): 3 is "
                      "read as PAYPIPE_RETRIER_MAX_RETRIES=2") != std::string::npos);
  CHECK(warnings.find("PAYPIPE_RETRY_DELAYS: deprecated: read as PAYPIPE_RETRIER_GROUP_INTERVALS") !=
        std::string::npos);
  CHECK(warnings.find("PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT: deprecated: 200 is read as "
                      "PAYPIPE_RETRIER_MULTIPLIER=2") != std::string::npos);
}

TEST_CASE("bad dlq-retrier variables are all reported, by name, secrets unechoed") {
  auto env = env_with({{"PAYPIPE_RETRIER_MAX_RETRIES", "-1"},
                       {"PAYPIPE_RETRIER_GROUP_INTERVALS", "notification-sender=soon"},
                       {"PAYPIPE_RETRIER_BATCH_SIZE", "many"},
                       {"PAYPIPE_RETRIER_MULTIPLIER", "2"},
                       {"PAYPIPE_RETRY_DELAYS", "notification-sender=1"},
                       {"PAYPIPE_RETRY_DELAY_MSS", "5"}});
  (void)Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  for (const auto* text :
       {"PAYPIPE_RETRIER_MAX_RETRIES: must be between 0 and 100",
        "PAYPIPE_RETRIER_GROUP_INTERVALS: notification-sender=soon", "PAYPIPE_RETRIER_BATCH_SIZE",
        "PAYPIPE_RETRIER_MULTIPLIER: only with PAYPIPE_RETRIER_BACKOFF=exponential",
        "PAYPIPE_RETRY_DELAYS: deprecated alias of PAYPIPE_RETRIER_GROUP_INTERVALS", "PAYPIPE_RETRY_DELAY_MSS"}) {
    CHECK(status.error().message.find(text) != std::string::npos);
  }
}

TEST_CASE("the retry-now retention must outlive the longest re-delivery delay") {
  // A group waits 2 h between deliveries: a retention of 1 h would forget a retry-now
  // before the retrier passes the record, which would then be sent again.
  auto env = env_with({{"PAYPIPE_RETRIER_GROUP_INTERVALS", "notification-sender=7200000"},
                       {"PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS", "1"}});
  (void)Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS: must be longer than the longest "
                                    "re-delivery delay (7200000 ms)") != std::string::npos);

  auto zero = env_with({{"PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS", "0"}});
  (void)Config::read(zero);
  CHECK_FALSE(zero.finish().ok());

  auto enough = env_with({{"PAYPIPE_RETRIER_GROUP_INTERVALS", "notification-sender=7200000"},
                          {"PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS", "3"}});
  CHECK(Config::read(enough).retried_retention == std::chrono::hours(3));
  CHECK(enough.finish().ok());
}

TEST_CASE("under the spring names dlq-retrier reads each group's <group>.DLQ by name, as dlq-retry-group") {
  auto env = env_with({{"PAYPIPE_NAMING_PROFILE", "spring"}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  const auto consumer = c.consumer_settings();
  CHECK(c.common.kafka.group(consumer.group) == "dlq-retry-group");
  // No pattern: "^.+\.DLQ$" would take the Spring services' own <topic>.DLQ for ours.
  std::vector<std::string> names;
  for (const auto& t : consumer.topics) {
    CHECK_FALSE(t.starts_with('^'));
    names.push_back(c.common.kafka.topic(t));
  }
  CHECK(std::find(names.begin(), names.end(), "ranking-update-group.DLQ") != names.end());
  CHECK(std::find(names.begin(), names.end(), "payment-notification.DLQ") != names.end());
  CHECK(names.size() == events::consumer_groups(c.common.kafka.naming).size());
}

TEST_CASE("a consumer group from configuration is re-delivered like ours, under the spring names too") {
  auto env = env_with({{"PAYPIPE_NAMING_PROFILE", "spring"},
                       {"PAYPIPE_EXTRA_CONSUMER_GROUPS", "email-sender=payment.completed"},
                       {"PAYPIPE_GROUP_NAMES", "email-sender=email-group"}});
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  std::vector<std::string> subscribed;
  for (const auto& t : c.consumer_settings().topics) subscribed.push_back(c.common.kafka.topic(t));
  CHECK(std::find(subscribed.begin(), subscribed.end(), "email-group.DLQ") != subscribed.end());
  // Its topics are checked at start like ours, and its dead letters go back to its retry topic.
  const auto known = known_topics(c.common.kafka.naming);
  CHECK(std::find(known.begin(), known.end(), "dlq.email-sender") != known.end());
  CHECK(std::find(known.begin(), known.end(), "retry.email-sender") != known.end());
  CHECK(group_of_dlq_topic("email-group.DLQ", c.common.kafka) == "email-sender");
  CHECK(c.common.kafka.topic("retry.email-sender") == "email-group.RETRY");
}
