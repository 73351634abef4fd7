#include "dlq_retrier/config.hpp"

#include "events/admin.hpp"
#include "events/dead_letter.hpp"
#include "runtime/retry_config.hpp"

namespace paypipe::dlq_retrier {

using std::chrono::milliseconds;

namespace {

constexpr const char* group_intervals_variable = "PAYPIPE_RETRIER_GROUP_INTERVALS";
constexpr const char* deprecated_group_delays_variable = "PAYPIPE_RETRY_DELAYS";

std::map<std::string, milliseconds, std::less<>> read_group_intervals(core::Env& env) {
  std::string name = group_intervals_variable;
  if (env.has(deprecated_group_delays_variable)) {
    if (env.has(group_intervals_variable)) {
      (void)env.text(deprecated_group_delays_variable, "");
      env.fail(deprecated_group_delays_variable, std::string("deprecated alias of ") + group_intervals_variable +
                                                     ": set only " + group_intervals_variable);
    } else {
      name = deprecated_group_delays_variable;
      env.warn(name, std::string("deprecated: read as ") + group_intervals_variable);
    }
  }
  auto intervals = parse_group_intervals(env.properties(name));
  if (!intervals) {
    env.fail(name, intervals.error().message);
    return {};
  }
  return std::move(intervals).value();
}

// A retry-now record keeps the retrier from sending that record again when it reaches it,
// at its due time: it must outlive the longest re-delivery delay.
std::chrono::hours read_retried_retention(core::Env& env, const RetrySchedule& schedule) {
  constexpr const char* name = "PAYPIPE_RETRIER_RETRIED_RETENTION_HOURS";
  const std::chrono::hours retention(env.integer(name, 24 * 7, 1, 24 * 365));
  if (retention <= schedule.longest_delay()) {
    env.fail(name, "must be longer than the longest re-delivery delay (" +
                       std::to_string(schedule.longest_delay().count()) +
                       " ms): the retrier needs a retry-now record until it passes the record's offset");
  }
  return retention;
}

}  // namespace

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "dlq-retrier");
  c.schedule.backoff = runtime::read_retry_policy(env, runtime::redelivery_variables, c.schedule.backoff);
  c.schedule.group_intervals = read_group_intervals(env);
  c.transactional_id = env.text("PAYPIPE_RETRIER_TRANSACTIONAL_ID", "");
  c.batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_RETRIER_BATCH_SIZE", 500, 1, 10000));
  c.transaction_timeout = env.millis("PAYPIPE_RETRIER_TRANSACTION_TIMEOUT_MS", milliseconds(30000), milliseconds(1000),
                                     milliseconds(900000));
  c.retried_retention = read_retried_retention(env, c.schedule);
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  return c;
}

events::ConsumerSettings Config::consumer_settings() const {
  events::ConsumerSettings s;
  s.group = consumer_group;
  s.topics = common.kafka.naming.dlq_subscription();
  return s;
}

std::string Config::slot_scope() const { return common.kafka.topic_prefix + "dlq-retrier-"; }

std::vector<std::string> known_topics(const events::Naming& naming) {
  std::vector<std::string> topics;
  for (const auto& group : events::consumer_groups(naming)) {
    topics.push_back(events::dlq_topic(group));
    topics.push_back(events::retry_topic(group));
  }
  return topics;
}

}  // namespace paypipe::dlq_retrier
