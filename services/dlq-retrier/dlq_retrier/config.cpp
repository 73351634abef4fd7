#include "dlq_retrier/config.hpp"

#include "events/admin.hpp"
#include "events/dead_letter.hpp"

namespace paypipe::dlq_retrier {

using std::chrono::milliseconds;

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "dlq-retrier");
  c.schedule.max_attempts = static_cast<int>(env.integer("PAYPIPE_RETRY_MAX_ATTEMPTS", 3, 1, 100));
  c.schedule.backoff.initial_delay =
      env.millis("PAYPIPE_RETRY_DELAY_MS", milliseconds(300000), milliseconds(0), milliseconds(86400000));
  c.schedule.backoff.multiplier =
      static_cast<double>(env.integer("PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT", 100, 100, 1000)) / 100.0;
  c.schedule.backoff.max_delay =
      env.millis("PAYPIPE_RETRY_MAX_DELAY_MS", milliseconds(3600000), milliseconds(0), milliseconds(86400000));
  if (auto delays = parse_group_delays(env.properties("PAYPIPE_RETRY_DELAYS")); delays) {
    c.schedule.group_delays = std::move(delays).value();
  } else {
    env.fail("PAYPIPE_RETRY_DELAYS", delays.error().message);
  }
  c.transactional_id = env.text("PAYPIPE_RETRIER_TRANSACTIONAL_ID", "");
  c.batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_RETRIER_BATCH_SIZE", 500, 1, 10000));
  c.transaction_timeout = env.millis("PAYPIPE_RETRIER_TRANSACTION_TIMEOUT_MS", milliseconds(30000),
                                     milliseconds(1000), milliseconds(900000));
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  return c;
}

events::ConsumerSettings Config::consumer_settings() const {
  events::ConsumerSettings s;
  s.group = consumer_group;
  s.topics = {dlq_pattern};
  return s;
}

std::string Config::slot_scope() const { return common.kafka.topic_prefix + "dlq-retrier-"; }

std::vector<std::string> known_topics() {
  std::vector<std::string> topics;
  for (const auto& group : events::consumer_groups()) {
    topics.push_back(events::dlq_topic(group));
    topics.push_back(events::retry_topic(group));
  }
  return topics;
}

}  // namespace paypipe::dlq_retrier
