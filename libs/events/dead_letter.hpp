#pragma once
// The dead-letter record format. A failed record goes to dlq.<group> with its original
// key, value and headers, plus the headers Spring Kafka's DeadLetterPublishingRecoverer
// writes, with the same names and encodings, so tools built for Spring dead-letter
// topics read ours:
//
//   kafka_dlt-original-topic            UTF-8
//   kafka_dlt-original-partition        4-byte big-endian int
//   kafka_dlt-original-offset           8-byte big-endian long
//   kafka_dlt-original-timestamp        8-byte big-endian long (ms)
//   kafka_dlt-original-timestamp-type   UTF-8 "CreateTime" or "LogAppendTime" (TimestampType's name)
//   kafka_dlt-original-consumer-group   UTF-8
//   kafka_dlt-exception-fqcn            UTF-8, our error class
//   kafka_dlt-exception-message         UTF-8
//   kafka_dlt-exception-stacktrace      UTF-8 (class: message; we have no stack)
//
// and ours, as decimal / RFC 3339 text: attempt (the delivery attempt that failed, 1 =
// the original delivery), first-failed-at, failed-at, failure-kind (retryable|fatal).
//
// The original-* headers describe the FIRST failure: a record that fails again after a
// retry keeps them (as Spring does), so they always name the business topic, never
// retry.<group>. Exception headers and ours are replaced on every failure.

#include <string>

#include "core/time.hpp"
#include "events/kafka.hpp"
#include "events/outcome.hpp"
#include "events/producer.hpp"

namespace paypipe::events {

namespace dlt {
inline constexpr const char* original_topic = "kafka_dlt-original-topic";
inline constexpr const char* original_partition = "kafka_dlt-original-partition";
inline constexpr const char* original_offset = "kafka_dlt-original-offset";
inline constexpr const char* original_timestamp = "kafka_dlt-original-timestamp";
inline constexpr const char* original_timestamp_type = "kafka_dlt-original-timestamp-type";
inline constexpr const char* original_consumer_group = "kafka_dlt-original-consumer-group";
inline constexpr const char* exception_fqcn = "kafka_dlt-exception-fqcn";
inline constexpr const char* exception_message = "kafka_dlt-exception-message";
inline constexpr const char* exception_stacktrace = "kafka_dlt-exception-stacktrace";
inline constexpr const char* attempt = "attempt";
inline constexpr const char* first_failed_at = "first-failed-at";
inline constexpr const char* failed_at = "failed-at";
inline constexpr const char* failure_kind = "failure-kind";
}  // namespace dlt

// Topic names of a consumer group's failure path (before the KafkaOptions prefix).
inline std::string dlq_topic(std::string_view group) { return "dlq." + std::string(group); }
inline std::string retry_topic(std::string_view group) { return "retry." + std::string(group); }

// Which delivery attempt `headers` carry: the `attempt` header, or 1.
int attempt_of(const KafkaHeaders& headers);

// The record to send to `dlq_topic_name` for `record`, which failed on delivery
// attempt `attempt` with `outcome`.
OutgoingRecord dead_letter_record(const ConsumedRecord& record, const Outcome& outcome, std::string_view group,
                                  std::string dlq_topic_name, int attempt, core::SystemTime now);

// What dlq-retrier reads back from a dead-letter record.
struct DeadLetterInfo {
  std::string original_topic;
  std::int32_t original_partition = -1;
  std::int64_t original_offset = -1;
  std::int64_t original_timestamp_ms = -1;
  std::string group;
  std::string error_class;
  std::string message;
  int attempt = 1;
  std::string first_failed_at;
  std::string failed_at;
  Outcome::Kind kind = Outcome::Kind::retryable;
};

// Reads the headers above. invalid_input if the record is not one of ours (missing
// original topic, group or failed-at).
core::Result<DeadLetterInfo> read_dead_letter(const KafkaHeaders& headers);

// The record dlq-retrier sends to retry.<group>: the same key, value and headers, with
// attempt = `next_attempt`.
OutgoingRecord retry_record(const ConsumedRecord& dead_letter, std::string retry_topic_name, int next_attempt);

// Big-endian encodings, as Java's ByteBuffer writes them.
std::string encode_int32(std::int32_t value);
std::string encode_int64(std::int64_t value);
std::optional<std::int32_t> decode_int32(std::string_view bytes);
std::optional<std::int64_t> decode_int64(std::string_view bytes);

}  // namespace paypipe::events
