#pragma once
// What dlq-retrier does with one record of dlq.<group>: a pure function of the record,
// the schedule and the clock (no broker, no database), unit-tested on its own.
//
//   not one of ours (read_dead_letter fails)       -> park (FOREIGN, with the reason)
//   failure-kind fatal                              -> park (FATAL)
//   attempt > max re-deliveries (the last one)      -> park (EXHAUSTED)
//   failed-at + delay(group, attempt) still ahead   -> wait until then
//   otherwise                                       -> republish to retry.<group> as attempt + 1
//                                                      (same key, value and headers)

#include <optional>
#include <string>
#include <variant>

#include "core/time.hpp"
#include "dlq_retrier/parked.hpp"
#include "dlq_retrier/retry_schedule.hpp"
#include "events/kafka.hpp"
#include "events/producer.hpp"

namespace paypipe::dlq_retrier {

struct Republish {
  events::OutgoingRecord record;
  std::string group;
  int attempt = 2;  // the attempt the record is sent back for
};

struct Park {
  ParkedRecord record;
};

struct Wait {
  core::SystemTime until;
};

using Decision = std::variant<Republish, Park, Wait>;

// The logical group of a dead-letter topic: "<prefix>dlq.<group>" -> "<group>", or
// whatever the naming (PAYPIPE_DLQ_TOPIC_FORMAT, PAYPIPE_GROUP_NAMES, ...) makes of it.
std::optional<std::string> group_of_dlq_topic(std::string_view topic, const events::KafkaOptions& options);

// `options` gives the topic prefix (retry.<group> is sent under it).
Decision decide(const events::ConsumedRecord& dead_letter, const events::KafkaOptions& options,
                const RetrySchedule& schedule, core::SystemTime now);

// The parked row for a dead letter (also what decide() parks), with `reason`.
ParkedRecord parked_record_of(const events::ConsumedRecord& dead_letter, std::string group, std::string reason,
                              std::string reason_detail);

// The record a replay sends to retry.<group>: the parked key, value and headers with
// attempt = 1, a fresh budget of attempts.
events::OutgoingRecord replay_record(const ParkedRecord& parked, const events::KafkaOptions& options);

}  // namespace paypipe::dlq_retrier
