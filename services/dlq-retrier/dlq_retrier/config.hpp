#pragma once
// dlq-retrier's configuration: the common settings plus its re-delivery schedule, in
// Spring's terms (runtime/retry_config.hpp; default: every 5 minutes, 3 times, as the
// Spring services' scheduled processFailedMessages() did)
//   PAYPIPE_RETRIER_MAX_RETRIES       re-deliveries after the original delivery, then parked (default 3)
//   PAYPIPE_RETRIER_BACKOFF           fixed (default) | exponential
//   PAYPIPE_RETRIER_INTERVAL_MS       wait after a failure before republishing (default 300000)
//   PAYPIPE_RETRIER_MULTIPLIER        exponential only: growth of the wait per delivery (default 2.0)
//   PAYPIPE_RETRIER_MAX_INTERVAL_MS   exponential only: cap of the wait (default 3600000)
//   PAYPIPE_RETRIER_GROUP_INTERVALS   per-group intervals, "notification-sender=5000;data-platform-forwarder=60000"
// (deprecated aliases, still read with a warning: PAYPIPE_RETRY_MAX_ATTEMPTS, deliveries in
// all = MAX_RETRIES + 1; PAYPIPE_RETRY_DELAY_MS; PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT;
// PAYPIPE_RETRY_MAX_DELAY_MS; PAYPIPE_RETRY_DELAYS)
//   PAYPIPE_RETRIER_TRANSACTIONAL_ID  Kafka transactional.id. Unset (the default): <topic prefix>dlq-retrier-<n>,
//                                     n the producer slot claimed in PostgreSQL at start
//                                     (src/producer_slot.hpp), which a replacement of a killed
//                                     pod inherits. Set: used as is; it must then be stable
//                                     across restarts of an instance and unique among instances.
//   PAYPIPE_RETRIER_BATCH_SIZE        dead letters per Kafka transaction at most (default 500)
//   PAYPIPE_RETRIER_TRANSACTION_TIMEOUT_MS  transaction.timeout.ms (default 30000)
//   PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS  how long an operator's retry-now is remembered
//                                     (retried_dead_letters; default 168, a week), pruned every 10
//                                     minutes; longer than every re-delivery delay, or refused
//   PAYPIPE_ADMIN_TOKEN               secret; required by every /v1/parked and /v1/dead-letters route
// The consumer's librdkafka extras (e.g. topic.metadata.refresh.interval.ms, how soon a
// new dlq.<group> topic is picked up) come through PAYPIPE_KAFKA_PROPERTIES.

#include <string>

#include "core/env.hpp"
#include "dlq_retrier/retry_schedule.hpp"
#include "events/consumer.hpp"
#include "runtime/config.hpp"

namespace paypipe::dlq_retrier {

struct Config {
  runtime::CommonConfig common;
  RetrySchedule schedule;
  std::string transactional_id;  // empty: claim a producer slot (src/producer_slot.hpp)
  std::size_t batch_size = 500;
  std::chrono::milliseconds transaction_timeout{30000};
  std::chrono::hours retried_retention{24 * 7};
  std::string admin_token;

  static Config read(core::Env& env);

  // The consumer group and its subscription to every dlq.<group>: a pattern made of
  // PAYPIPE_DLQ_TOPIC_FORMAT, and the dlq topics named one by one (events/naming.hpp).
  events::ConsumerSettings consumer_settings() const;
  // The stem of slot-derived transactional ids, and the slots' lock scope.
  std::string slot_scope() const;
};

inline constexpr const char* consumer_group = "dlq-retrier";

// The topics it reads and writes today (for the durability check): dlq.* and retry.*
// of every consumer group (ours and the configured ones, events::consumer_groups()).
std::vector<std::string> known_topics(const events::Naming& naming);

}  // namespace paypipe::dlq_retrier
