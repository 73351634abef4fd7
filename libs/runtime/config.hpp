#pragma once
// The configuration every daemon shares, read from PAYPIPE_* environment variables,
// and the settings it turns into for each library. A service's own Config struct
// embeds CommonConfig and reads its extra fields in the same pass (see
// services/*/src/config.hpp), then core::Env::finish() reports every problem at once.
//
//   PAYPIPE_PROFILE                 local | production (default production: durability enforced)
//   PAYPIPE_HTTP_ADDRESS / _PORT    listen address (0.0.0.0) and port (8080)
//   PAYPIPE_HTTP_IO_THREADS / _WORKERS / _BODY_LIMIT_BYTES / _READ_TIMEOUT_MS / _IDLE_TIMEOUT_MS
//   PAYPIPE_KAFKA_BOOTSTRAP_SERVERS required
//   PAYPIPE_KAFKA_PROPERTIES        extra librdkafka properties, "key=value;key=value"
//   PAYPIPE_KAFKA_SASL_USERNAME / _SASL_PASSWORD   from a Secret
//   PAYPIPE_KAFKA_STATISTICS_INTERVAL_MS   librdkafka statistics of producers and consumers
//                                   mapped to rdkafka_* metrics (default 15000; 0: off)
//   PAYPIPE_TOPIC_PREFIX            prepended to every topic and group (tests)
//   PAYPIPE_PLAIN_JSON_TOPICS       "<topic>=<type>;...": topics that also accept Spring's plain JSON
//   PAYPIPE_PLAIN_JSON_TYPE_IDS     "<java class>=<type>;...": Spring's __TypeId__ values read
//   PAYPIPE_SPRING_TYPE_IDS         "<topic>=<java class>;...": __TypeId__ written for Spring
//                                   listeners (events/spring_interop.hpp)
//   PAYPIPE_NAMING_PROFILE / _TOPIC_NAMES / _GROUP_NAMES / _RETRY_TOPIC_FORMAT /
//   _DLQ_TOPIC_FORMAT / _SHARED_TOPIC_NAMES
//                                   the broker's names of our topics and groups
//                                   (events/naming.hpp; docs/operations.md "Naming topics and groups")
//   PAYPIPE_PG_DSN                  required, libpq URI
//   PAYPIPE_PG_PASSWORD             from a Secret
//   PAYPIPE_PG_SCHEMA / _POOL_SIZE  the service's schema (default: its name) and pool size
//   PAYPIPE_LOG_LEVEL / _FORMAT     info | debug | ...; json | text
//   PAYPIPE_ADMIN_TOKEN             from a Secret: the bearer token of admin routes
//                                   (PUT /v1/admin/log-level); unset refuses them all
//   PAYPIPE_SHUTDOWN_TIMEOUT_MS     bound on a graceful stop (default 20000)
//   PAYPIPE_WATCHDOG_TIMEOUT_MS     /healthz fails when a loop (consumer, outbox relay) has
//                                   not gone round for this long (default 600000: twice
//                                   librdkafka's max.poll.interval.ms)
//   PAYPIPE_OUTBOX_BATCH_SIZE / _POLL_INTERVAL_MS
//   PAYPIPE_OUTBOX_RELAY            on | off (default on); off while Debezium publishes the
//                                   outbox instead (docs/operations.md)
//   PAYPIPE_OUTBOX_FAST_PATH        on | off (default on): writers publish their committed
//                                   events themselves (events/outbox.hpp); off: the relay
//                                   reads every row back, as before
//   PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS  the most events the fast path holds at once (in
//                                   flight to Kafka or waiting for their delete; default
//                                   4096, about 1 KiB each); past it they wait for the relay
//   PAYPIPE_CONSUMER_BATCH_SIZE / _BATCH_LINGER_MS / _MAX_IN_FLIGHT
//   PAYPIPE_RETRY_BACKOFF / _MAX_RETRIES / _INTERVAL_MS / _MULTIPLIER / _MAX_INTERVAL_MS
//                                   in-process retries in Spring's terms (runtime/retry_config.hpp);
//                                   default FixedBackOff(1000 ms, 3 retries) as the Spring services had
//   PAYPIPE_CURRENCY                the currency of prices, orders and wallets (read_currency;
//                                   payment-api and order-processor only)

#include <chrono>
#include <string>

#include "core/env.hpp"
#include "events/consumer_runtime.hpp"
#include "events/kafka.hpp"
#include "events/outbox.hpp"
#include "http/server.hpp"
#include "pg/pool.hpp"

namespace paypipe::runtime {

struct CommonConfig {
  std::string service;  // e.g. "payment-api"
  bool local_profile = false;
  http::ServerOptions http;
  events::KafkaOptions kafka;
  pg::PoolOptions database;
  std::string log_level = "info";
  bool log_json = true;
  std::string admin_token;  // secret
  std::chrono::milliseconds shutdown_timeout{20000};
  std::chrono::milliseconds watchdog_timeout{600000};
  std::size_t outbox_batch_size = 500;
  std::chrono::milliseconds outbox_poll_interval{1000};
  bool outbox_relay = true;
  bool outbox_fast_path = false;
  std::size_t outbox_fast_path_max_events = 4096;

  static CommonConfig read(core::Env& env, std::string service);

  events::RelaySettings relay_settings() const;
};

// Consumer settings with the service's defaults, overridable from the environment.
struct ConsumerDefaults {
  std::size_t batch_size = 100;
  std::chrono::milliseconds batch_linger{2};
  std::size_t max_in_flight = 256;
  // Spring's DefaultErrorHandler with FixedBackOff(1000, 3), the Spring services' setting.
  events::RetryPolicy retry = events::RetryPolicy::fixed_backoff(std::chrono::milliseconds(1000), 3);
};

// PAYPIPE_CURRENCY (default KRW): the one currency of prices, orders and wallets, read
// by order-processor and payment-api so both sides agree. Must be an ISO 4217 code
// (three upper-case letters); anything else is a start-up error naming the variable.
std::string read_currency(core::Env& env);

// The settings of a handler that claims each event in PostgreSQL around a call to another
// system (notification-sender: Telegram; data-platform-forwarder: the webhook), read from
//   <stem>_DB_WORKERS      threads per log stage (default 2)
//   <stem>_DB_BATCH_SIZE   events per log statement (default 256)
//   <stem>_CLAIM_LEASE_MS  how long a try's claim holds before another replica may take it
//                          over (default 2 x the call timeout + 5 s); must exceed the call timeout
// and, PAYPIPE_PG_POOL_SIZE unset, the pool sized for both log stages and the HTTP workers.
struct ClaimSettings {
  std::size_t db_workers = 2;
  std::size_t db_batch_size = 256;
  std::chrono::milliseconds lease{25000};
  std::string owner;  // this process: host/pid/random, so a restarted pod is another owner
};

ClaimSettings read_claim_settings(core::Env& env, std::string_view stem, std::chrono::milliseconds call_timeout,
                                  std::string_view call_timeout_variable, CommonConfig& common);

events::RuntimeSettings read_consumer_settings(core::Env& env, const std::string& group,
                                               std::vector<std::string> topics, const ConsumerDefaults& defaults);

}  // namespace paypipe::runtime
