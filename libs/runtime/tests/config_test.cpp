#include "runtime/config.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;

namespace {
core::Env base_env(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> vars{{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "k:9092"},
                                          {"PAYPIPE_PG_DSN", "postgresql://u@h/db"}};
  vars.insert(extra.begin(), extra.end());
  return core::Env(vars);
}
}  // namespace

TEST_CASE("common config has production defaults and maps every variable") {
  auto env = base_env({{"PAYPIPE_HTTP_PORT", "9000"},
                       {"PAYPIPE_KAFKA_PROPERTIES", "security.protocol=SASL_SSL;sasl.mechanisms=SCRAM-SHA-512"},
                       {"PAYPIPE_KAFKA_SASL_USERNAME", "svc"},
                       {"PAYPIPE_KAFKA_SASL_PASSWORD", "pw"},
                       {"PAYPIPE_PG_PASSWORD", "dbpw"},
                       {"PAYPIPE_TOPIC_PREFIX", "staging."}});
  const auto c = runtime::CommonConfig::read(env, "payment-api");
  REQUIRE(env.finish().ok());
  CHECK_FALSE(c.local_profile);
  CHECK(c.http.port == 9000);
  CHECK(c.kafka.bootstrap_servers == "k:9092");
  CHECK(c.kafka.properties.at("security.protocol") == "SASL_SSL");
  CHECK(c.kafka.properties.at("sasl.username") == "svc");
  CHECK(c.kafka.properties.at("sasl.password") == "pw");
  CHECK(c.kafka.topic("order.created") == "staging.order.created");
  CHECK(c.database.connect.schema == "payment_api");
  CHECK(c.database.connect.password == "dbpw");
  CHECK(c.kafka.client_id == "payment-api");
}

TEST_CASE("Spring interop settings come from the environment and are checked") {
  auto env = base_env({{"PAYPIPE_PLAIN_JSON_TOPICS", "order.completed=dev.paypipe.order.completed.v1"},
                       {"PAYPIPE_PLAIN_JSON_TYPE_IDS", "com.example.OrderCompleted=order.completed"},
                       {"PAYPIPE_SPRING_TYPE_IDS", "payment.completed=com.example.PaymentCompleted;order.created="}});
  const auto c = runtime::CommonConfig::read(env, "ranking-updater");
  REQUIRE(env.finish().ok());
  CHECK(c.kafka.interop.plain_json_topics.at("order.completed") == "dev.paypipe.order.completed.v1");
  CHECK(c.kafka.interop.plain_json_type_ids.at("com.example.OrderCompleted") == "dev.paypipe.order.completed.v1");
  CHECK(c.kafka.interop.spring_type_ids.at("payment.completed") == "com.example.PaymentCompleted");
  CHECK(c.kafka.interop.spring_type_ids.at("order.created").empty());

  auto bad = base_env({{"PAYPIPE_PLAIN_JSON_TOPICS", "order.completed=order.shipped"}});
  (void)runtime::CommonConfig::read(bad, "ranking-updater");
  const auto status = bad.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("unknown event type \"order.shipped\"") != std::string::npos);
}

TEST_CASE("consumer settings take the service's defaults and the environment's overrides") {
  auto env = base_env({{"PAYPIPE_CONSUMER_BATCH_SIZE", "50"},
                       {"PAYPIPE_RETRY_MAX_RETRIES", "5"},
                       {"PAYPIPE_CONSUMER_REVOKE_DRAIN_TIMEOUT_MS", "30000"},
                       {"PAYPIPE_CONSUMER_INFRA_BACKOFF_MAX_MS", "2000"}});
  runtime::ConsumerDefaults defaults;
  defaults.retry = events::RetryPolicy::exponential_backoff(2, std::chrono::milliseconds(1000), 2.0,
                                                            std::chrono::milliseconds(8000));
  const auto s = runtime::read_consumer_settings(env, "data-platform-forwarder", {"payment.completed"}, defaults);
  runtime::CommonConfig::read(env, "x");
  REQUIRE(env.finish().ok());
  CHECK(s.batch_size == 50);
  CHECK(s.retry.max_retries() == 5);
  CHECK(s.retry.max_attempts == 6);
  CHECK(s.retry.initial_delay == std::chrono::milliseconds(1000));
  CHECK(s.retry.multiplier == 2.0);
  CHECK(s.consumer.group == "data-platform-forwarder");
  CHECK(s.revoke_drain_timeout == std::chrono::milliseconds(30000));
  CHECK(s.infrastructure_backoff.initial_delay == std::chrono::milliseconds(100));
  CHECK(s.infrastructure_backoff.max_delay == std::chrono::milliseconds(2000));
}

TEST_CASE("the outbox relay runs unless PAYPIPE_OUTBOX_RELAY=off hands the outbox to Debezium") {
  auto defaults = base_env();
  const auto on = runtime::CommonConfig::read(defaults, "payment-api");
  REQUIRE(defaults.finish().ok());
  CHECK(on.relay_settings().enabled);

  auto off_env = base_env({{"PAYPIPE_OUTBOX_RELAY", "off"}});
  const auto off = runtime::CommonConfig::read(off_env, "payment-api");
  REQUIRE(off_env.finish().ok());
  CHECK_FALSE(off.relay_settings().enabled);

  auto bad = base_env({{"PAYPIPE_OUTBOX_RELAY", "false"}});
  runtime::CommonConfig::read(bad, "payment-api");
  const auto status = bad.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_OUTBOX_RELAY") != std::string::npos);
}

TEST_CASE("the outbox fast path is off unless PAYPIPE_OUTBOX_FAST_PATH=on") {
  auto defaults = base_env();
  const auto standard = runtime::CommonConfig::read(defaults, "payment-api");
  REQUIRE(defaults.finish().ok());
  CHECK_FALSE(standard.relay_settings().fast_path);
  auto on = base_env({{"PAYPIPE_OUTBOX_FAST_PATH", "on"}});
  const auto chosen = runtime::CommonConfig::read(on, "payment-api");
  REQUIRE(on.finish().ok());
  CHECK(chosen.relay_settings().fast_path);
}

TEST_CASE("the outbox fast path holds at most PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS events, 4096 by default") {
  auto defaults = base_env();
  const auto standard = runtime::CommonConfig::read(defaults, "payment-api");
  REQUIRE(defaults.finish().ok());
  CHECK(standard.relay_settings().fast_path_max_events == 4096);

  auto set = base_env({{"PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS", "100"}});
  const auto small = runtime::CommonConfig::read(set, "payment-api");
  REQUIRE(set.finish().ok());
  CHECK(small.relay_settings().fast_path_max_events == 100);

  for (const char* wrong : {"0", "-1", "many", "2000000"}) {
    auto bad = base_env({{"PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS", wrong}});
    runtime::CommonConfig::read(bad, "payment-api");
    const auto status = bad.finish();
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.find("PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS") != std::string::npos);
  }
}

TEST_CASE("missing and bad variables are all reported, secrets never echoed") {
  core::Env env({{"PAYPIPE_HTTP_PORT", "http"}, {"PAYPIPE_PG_PASSWORD", "hunter2"}, {"PAYPIPE_PG_SCHEMA", "Bad-Name"}});
  runtime::CommonConfig::read(env, "svc");
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  CHECK(m.find("PAYPIPE_KAFKA_BOOTSTRAP_SERVERS: is required") != std::string::npos);
  CHECK(m.find("PAYPIPE_PG_DSN: is required") != std::string::npos);
  CHECK(m.find("PAYPIPE_HTTP_PORT") != std::string::npos);
  CHECK(m.find("PAYPIPE_PG_SCHEMA") != std::string::npos);
  CHECK(m.find("hunter2") == std::string::npos);
}

TEST_CASE("every daemon reads the naming: the prefix and the mapping apply to topics and groups") {
  auto env = base_env({{"PAYPIPE_TOPIC_PREFIX", "staging."},
                       {"PAYPIPE_NAMING_PROFILE", "spring"},
                       {"PAYPIPE_GROUP_NAMES", "ranking-updater=rankings"}});
  const auto c = runtime::CommonConfig::read(env, "ranking-updater");
  REQUIRE(env.finish().ok());
  CHECK(c.kafka.topic("payment.completed") == "staging.payment.success");
  CHECK(c.kafka.group("ranking-updater") == "staging.rankings");
  CHECK(c.kafka.topic("dlq.ranking-updater") == "staging.rankings.DLQ");

  auto bad = base_env({{"PAYPIPE_TOPIC_NAMES", "payment.succeeded=payment.success"}});
  (void)runtime::CommonConfig::read(bad, "ranking-updater");
  const auto status = bad.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_TOPIC_NAMES: unknown topic \"payment.succeeded\"") != std::string::npos);
}

TEST_CASE("claim settings: one reader for every service that claims events around a call") {
  using namespace std::chrono_literals;
  {
    auto env = base_env({{"PAYPIPE_HTTP_WORKERS", "3"}});
    auto common = runtime::CommonConfig::read(env, "svc");
    const auto claims = runtime::read_claim_settings(env, "PAYPIPE_X", 10000ms, "PAYPIPE_X_TIMEOUT_MS", common);
    REQUIRE(env.finish().ok());
    CHECK(claims.db_workers == 2);
    CHECK(claims.db_batch_size == 256);
    CHECK(claims.lease == 25000ms);  // 2 x the call's timeout + 5 s
    CHECK_FALSE(claims.owner.empty());
    CHECK(common.database.size == 2 * 2 + 3);  // both log stages and the HTTP workers
  }
  {
    auto env = base_env({{"PAYPIPE_X_DB_WORKERS", "3"},
                         {"PAYPIPE_X_DB_BATCH_SIZE", "64"},
                         {"PAYPIPE_X_CLAIM_LEASE_MS", "20000"},
                         {"PAYPIPE_PG_POOL_SIZE", "5"}});
    auto common = runtime::CommonConfig::read(env, "svc");
    const auto claims = runtime::read_claim_settings(env, "PAYPIPE_X", 10000ms, "PAYPIPE_X_TIMEOUT_MS", common);
    REQUIRE(env.finish().ok());
    CHECK(claims.db_workers == 3);
    CHECK(claims.db_batch_size == 64);
    CHECK(claims.lease == 20000ms);
    CHECK(common.database.size == 5);  // set: kept
  }
  {
    auto env = base_env({{"PAYPIPE_X_CLAIM_LEASE_MS", "10000"}});
    auto common = runtime::CommonConfig::read(env, "svc");
    (void)runtime::read_claim_settings(env, "PAYPIPE_X", 10000ms, "PAYPIPE_X_TIMEOUT_MS", common);
    const auto status = env.finish();
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.find("PAYPIPE_X_CLAIM_LEASE_MS: must be longer than PAYPIPE_X_TIMEOUT_MS") !=
          std::string::npos);
  }
}

TEST_CASE("the HTTP connection cap: 10000 unless PAYPIPE_HTTP_MAX_CONNECTIONS raises it (streams hold one each)") {
  {
    auto env = base_env({});
    CHECK(runtime::CommonConfig::read(env, "svc").http.max_connections == 10000);
    REQUIRE(env.finish().ok());
  }
  {
    auto env = base_env({{"PAYPIPE_HTTP_MAX_CONNECTIONS", "20256"}});
    CHECK(runtime::CommonConfig::read(env, "svc").http.max_connections == 20256);
    REQUIRE(env.finish().ok());
  }
}
