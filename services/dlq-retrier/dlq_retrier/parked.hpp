#pragma once
// A parked dead letter: a record dlq-retrier gave up on, kept byte-exact (key, value,
// every header) with what its headers say about the failure, until an operator
// replays or purges it.
//
// Status: PARKED (waiting for an operator) -> REPLAYED (sent back to retry.<group>
// with a fresh attempt budget) or PURGED (given up for good). Rows are never deleted
// by the service: the row's unique (dlq topic, partition, offset) is what makes parking
// idempotent when a dead letter is read twice, and it keeps the history an operator
// audits. A replayed record that fails again comes back as a new row.

#include <cstdint>
#include <optional>
#include <string>

#include "events/kafka.hpp"

namespace paypipe::dlq_retrier {

namespace status {
inline constexpr const char* parked = "PARKED";
inline constexpr const char* replayed = "REPLAYED";
inline constexpr const char* purged = "PURGED";
}  // namespace status

// Why a record was parked.
namespace reason {
inline constexpr const char* fatal = "FATAL";          // the consumer said it can never succeed
inline constexpr const char* exhausted = "EXHAUSTED";  // its last allowed attempt failed
inline constexpr const char* foreign = "FOREIGN";      // not one of our dead letters (no usable headers)
inline constexpr const char* skipped = "SKIPPED";      // an operator skipped it before it was retried
}  // namespace reason

struct ParkedRecord {
  std::int64_t id = 0;  // assigned by the store
  std::string group;    // logical consumer group, from the dlq topic's name
  std::string status = status::parked;
  std::string reason;
  std::string reason_detail;

  // Where the record failed first (Spring's kafka_dlt-original-*); empty / -1 if unknown.
  std::string original_topic;
  std::int32_t original_partition = -1;
  std::int64_t original_offset = -1;
  std::optional<std::int64_t> original_timestamp_ms;

  // The dead letter itself.
  std::string dlq_topic;
  std::int32_t dlq_partition = 0;
  std::int64_t dlq_offset = 0;
  std::optional<std::string> key;
  std::string value;
  events::KafkaHeaders headers;

  std::string error_class;
  std::string message;
  int attempt = 1;
  std::string first_failed_at;  // RFC 3339; empty if unknown
  std::string failed_at;

  std::string parked_at;  // set by the store
  std::string replayed_at;
  std::string purged_at;
  int replay_count = 0;
};

}  // namespace paypipe::dlq_retrier
