#include "runtime/config.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/uuid.hpp"

#include "runtime/retry_config.hpp"

namespace paypipe::runtime {

using std::chrono::milliseconds;

CommonConfig CommonConfig::read(core::Env& env, std::string service) {
  CommonConfig c;
  c.service = std::move(service);
  c.local_profile = env.choice("PAYPIPE_PROFILE", "production", {"local", "production"}) == "local";

  c.http.address = env.text("PAYPIPE_HTTP_ADDRESS", c.http.address);
  c.http.port = static_cast<std::uint16_t>(env.integer("PAYPIPE_HTTP_PORT", 8080, 0, 65535));
  c.http.io_threads = static_cast<int>(env.integer("PAYPIPE_HTTP_IO_THREADS", 1, 1, 64));
  c.http.worker_threads = static_cast<int>(env.integer("PAYPIPE_HTTP_WORKERS", 4, 1, 256));
  c.http.body_limit = static_cast<std::size_t>(env.integer("PAYPIPE_HTTP_BODY_LIMIT_BYTES", 64 * 1024, 1024, 16 << 20));
  c.http.read_timeout = env.millis("PAYPIPE_HTTP_READ_TIMEOUT_MS", milliseconds(10000), milliseconds(100),
                                   milliseconds(600000));
  c.http.idle_timeout = env.millis("PAYPIPE_HTTP_IDLE_TIMEOUT_MS", milliseconds(60000), milliseconds(100),
                                   milliseconds(3600000));
  // Live-update streams hold a connection each: a replica serving many raises both caps.
  c.http.max_connections = static_cast<std::size_t>(
      env.integer("PAYPIPE_HTTP_MAX_CONNECTIONS", static_cast<std::int64_t>(c.http.max_connections), 1, 1'000'000));

  c.kafka.bootstrap_servers = env.required_text("PAYPIPE_KAFKA_BOOTSTRAP_SERVERS");
  c.kafka.properties = env.properties("PAYPIPE_KAFKA_PROPERTIES");
  if (auto user = env.secret("PAYPIPE_KAFKA_SASL_USERNAME"); !user.empty()) c.kafka.properties["sasl.username"] = user;
  if (auto password = env.secret("PAYPIPE_KAFKA_SASL_PASSWORD"); !password.empty()) {
    c.kafka.properties["sasl.password"] = password;
  }
  c.kafka.topic_prefix = env.text("PAYPIPE_TOPIC_PREFIX", "");
  c.kafka.naming = events::read_naming(env);
  c.kafka.client_id = c.service;
  c.kafka.statistics_interval = env.millis("PAYPIPE_KAFKA_STATISTICS_INTERVAL_MS", milliseconds(15000), milliseconds(0),
                                           milliseconds(3600000));
  // Spring producers and consumers on our topics: one parser (events/spring_interop.hpp).
  auto interop = events::make_spring_interop(env.properties("PAYPIPE_PLAIN_JSON_TOPICS"),
                                             env.properties("PAYPIPE_PLAIN_JSON_TYPE_IDS"),
                                             env.properties("PAYPIPE_SPRING_TYPE_IDS"));
  if (interop) {
    c.kafka.interop = std::move(interop).value();
  } else {
    env.fail("PAYPIPE_PLAIN_JSON_TOPICS / _TYPE_IDS / PAYPIPE_SPRING_TYPE_IDS", interop.error().message);
  }

  c.database.connect.dsn = env.required_text("PAYPIPE_PG_DSN");
  c.database.connect.password = env.secret("PAYPIPE_PG_PASSWORD");
  std::string schema = c.service;
  for (char& ch : schema) ch = ch == '-' ? '_' : ch;
  c.database.connect.schema = env.text("PAYPIPE_PG_SCHEMA", schema);
  if (!pg::is_simple_identifier(c.database.connect.schema)) {
    env.fail("PAYPIPE_PG_SCHEMA", "must match [a-z_][a-z0-9_]*");
  }
  c.database.connect.application_name = c.service;
  c.database.size = static_cast<std::size_t>(env.integer("PAYPIPE_PG_POOL_SIZE", 8, 1, 200));

  c.log_level = env.choice("PAYPIPE_LOG_LEVEL", "info", {"trace", "debug", "info", "warn", "error", "off"});
  c.log_json = env.choice("PAYPIPE_LOG_FORMAT", "json", {"json", "text"}) == "json";
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  c.shutdown_timeout = env.millis("PAYPIPE_SHUTDOWN_TIMEOUT_MS", milliseconds(20000), milliseconds(100),
                                  milliseconds(600000));
  c.watchdog_timeout = env.millis("PAYPIPE_WATCHDOG_TIMEOUT_MS", milliseconds(600000), milliseconds(1000),
                                  milliseconds(86400000));
  c.outbox_batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_OUTBOX_BATCH_SIZE", 500, 1, 10000));
  c.outbox_poll_interval = env.millis("PAYPIPE_OUTBOX_POLL_INTERVAL_MS", milliseconds(1000), milliseconds(10),
                                      milliseconds(60000));
  c.outbox_relay = env.choice("PAYPIPE_OUTBOX_RELAY", "on", {"on", "off"}) == "on";
  // Off by default: on one database it cost more CPU per payment (the writer's hand-over,
  // the deleter, the insert's key probe) than the relay's pass it saves (docs/performance.md).
  c.outbox_fast_path = env.choice("PAYPIPE_OUTBOX_FAST_PATH", "off", {"on", "off"}) == "on";
  c.outbox_fast_path_max_events = static_cast<std::size_t>(
      env.integer("PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS", 4096, 1, 1'000'000));
  return c;
}

events::RelaySettings CommonConfig::relay_settings() const {
  events::RelaySettings s;
  s.schema = database.connect.schema;
  s.batch_size = outbox_batch_size;
  s.poll_interval = outbox_poll_interval;
  s.enabled = outbox_relay;
  s.fast_path = outbox_fast_path;
  s.fast_path_max_events = outbox_fast_path_max_events;
  return s;
}

events::RuntimeSettings read_consumer_settings(core::Env& env, const std::string& group,
                                               std::vector<std::string> topics, const ConsumerDefaults& defaults) {
  events::RuntimeSettings s;
  s.consumer.group = group;
  s.consumer.topics = std::move(topics);
  s.component = group;
  s.batch_size = static_cast<std::size_t>(
      env.integer("PAYPIPE_CONSUMER_BATCH_SIZE", static_cast<std::int64_t>(defaults.batch_size), 1, 10000));
  s.batch_linger = env.millis("PAYPIPE_CONSUMER_BATCH_LINGER_MS", defaults.batch_linger, milliseconds(0),
                              milliseconds(10000));
  s.max_in_flight = static_cast<std::size_t>(
      env.integer("PAYPIPE_CONSUMER_MAX_IN_FLIGHT", static_cast<std::int64_t>(defaults.max_in_flight), 1, 100000));
  s.retry = read_retry_policy(env, consumer_retry_variables, defaults.retry);
  // How long a revoke waits for jobs of the departing partitions (they are told they
  // are abandoned first); a job still running then is run again by the next owner.
  s.revoke_drain_timeout = env.millis("PAYPIPE_CONSUMER_REVOKE_DRAIN_TIMEOUT_MS", s.revoke_drain_timeout,
                                      milliseconds(0), milliseconds(300000));
  // The wait between in-place retries of an infrastructure failure (x2 up to the cap).
  s.infrastructure_backoff.initial_delay = env.millis("PAYPIPE_CONSUMER_INFRA_BACKOFF_MS",
                                                      s.infrastructure_backoff.initial_delay, milliseconds(1),
                                                      milliseconds(60000));
  s.infrastructure_backoff.max_delay = env.millis("PAYPIPE_CONSUMER_INFRA_BACKOFF_MAX_MS",
                                                  s.infrastructure_backoff.max_delay, milliseconds(1),
                                                  milliseconds(300000));
  return s;
}

namespace {

// host/pid/random: unique per process, also across restarts under one pod name.
std::string process_owner() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + "/" + std::to_string(::getpid()) + "/" + core::new_uuid_v7().substr(24);
}

}  // namespace

ClaimSettings read_claim_settings(core::Env& env, std::string_view stem, milliseconds call_timeout,
                                  std::string_view call_timeout_variable, CommonConfig& common) {
  const std::string prefix(stem);
  ClaimSettings s;
  s.db_workers = static_cast<std::size_t>(env.integer(prefix + "_DB_WORKERS", 2, 1, 32));
  s.db_batch_size = static_cast<std::size_t>(env.integer(prefix + "_DB_BATCH_SIZE", 256, 1, 5000));
  // Long enough for the call, short enough that a claim left by a killed process does
  // not hold its events up for long.
  s.lease = env.millis(prefix + "_CLAIM_LEASE_MS", 2 * call_timeout + milliseconds(5000), milliseconds(100),
                       milliseconds(3600000));
  if (s.lease <= call_timeout) {
    env.fail(prefix + "_CLAIM_LEASE_MS", "must be longer than " + std::string(call_timeout_variable));
  }
  s.owner = process_owner();
  if (!env.has("PAYPIPE_PG_POOL_SIZE")) {
    common.database.size = 2 * s.db_workers + static_cast<std::size_t>(common.http.worker_threads);
  }
  return s;
}

std::string read_currency(core::Env& env) {
  auto currency = env.text("PAYPIPE_CURRENCY", "KRW");
  const bool ok = currency.size() == 3 &&
                  std::all_of(currency.begin(), currency.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
  if (!ok) env.fail("PAYPIPE_CURRENCY", "must be three upper-case letters (ISO 4217), got \"" + currency + "\"");
  return currency;
}

}  // namespace paypipe::runtime
