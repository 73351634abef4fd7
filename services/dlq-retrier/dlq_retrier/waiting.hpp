#pragma once
// Dead letters before they are parked: the records of dlq.<group> that dlq-retrier has
// not handled yet (between its committed offsets and the ends of the partitions), as an
// operator sees them. Pure parts only (no broker, no database), unit-tested on their
// own; waiting_operations.hpp reads, retries and skips them.
//
//   view_of      one waiting record: what failed, and what the retrier will do with it
//                (retry at its due time, or park, and why)
//   summarize    per group: how many wait, the oldest, the reasons (error classes)
//   retry_now    the record that "retry now" sends: what the retrier itself would send
//                (retry.<group>, same key, value and headers, attempt + 1), at once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "dlq_retrier/decision.hpp"
#include "dlq_retrier/retry_schedule.hpp"
#include "events/kafka.hpp"

namespace paypipe::dlq_retrier {

// What the retrier will do with a waiting record when it reaches it.
namespace next_step {
inline constexpr const char* retry = "RETRY";  // re-deliver to retry.<group> at due_at
inline constexpr const char* park = "PARK";    // park it (park_reason)
}  // namespace next_step

struct WaitingRecord {
  std::string group;
  std::string topic;  // dlq.<group>, prefix included
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::size_t value_size = 0;
  int attempt = 1;            // the delivery attempt that failed (1 = the original delivery)
  std::string error_class;    // kafka_dlt-exception-fqcn; empty for a foreign record
  std::string message;
  std::string original_topic;
  std::string failed_at;      // RFC 3339; empty if the headers do not say
  std::string first_failed_at;
  std::int64_t timestamp_ms = 0;  // when it was written to dlq.<group>
  std::string next;           // next_step::retry or next_step::park
  std::string due_at;         // RETRY: when (RFC 3339; now or earlier: at the next pass)
  std::string park_reason;    // PARK: FATAL, EXHAUSTED or FOREIGN
  std::string park_detail;
};

WaitingRecord view_of(const events::ConsumedRecord& dead_letter, const events::KafkaOptions& options,
                      const RetrySchedule& schedule, core::SystemTime now);

struct ReasonCount {
  std::string error_class;  // "" for records that are not paypipe dead letters
  std::int64_t count = 0;
  std::string message;      // the message of the newest record with this class
};

struct GroupSummary {
  std::string group;
  std::string topic;
  std::int64_t waiting = 0;    // records counted
  bool complete = true;        // false: more records wait than were read (see waiting_span)
  std::int64_t waiting_span = 0;  // offsets between the retrier's positions and the ends
  std::int64_t due_now = 0;    // RETRY records whose due time has come
  std::int64_t to_park = 0;    // PARK records
  std::optional<WaitingRecord> oldest;  // the earliest failure (failed-at, else its dlq timestamp)
  std::vector<ReasonCount> reasons;     // most frequent first
};

// `records` in any order; `complete` and `span` come from the reader.
GroupSummary summarize(const std::string& group, const std::string& topic, const std::vector<WaitingRecord>& records,
                       bool complete, std::int64_t span, core::SystemTime now);

// invalid_input unless the record was read from a dlq.<group> topic.
core::Result<Republish> retry_now(const events::ConsumedRecord& dead_letter, const events::KafkaOptions& options);

// Where a page of a group's waiting records resumes: "<partition>:<offset>".
struct WaitingCursor {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};
core::Result<WaitingCursor> parse_waiting_cursor(std::string_view text);
std::string format_waiting_cursor(const WaitingCursor& cursor);

struct WaitingPage {
  std::string group;
  std::vector<WaitingRecord> items;
  std::optional<WaitingCursor> next;
};

// What retry-now did for one record.
struct RetriedRecord {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string retry_topic;
  int attempt = 2;           // the attempt it was sent for
  std::string retried_at;    // RFC 3339
  bool already = false;      // retried before: nothing was sent this time
};

// A group name from a path or the command line: 1 to 200 characters of [A-Za-z0-9._-].
core::Result<std::string> parse_group(std::string_view text);
// The operator's reason to skip: 1 to 1000 characters.
core::Result<std::string> parse_skip_reason(std::string_view text);

std::string summaries_json(const std::vector<GroupSummary>& summaries);
std::string waiting_page_json(const WaitingPage& page);
std::string retried_json(const RetriedRecord& retried);
std::string retry_all_json(const std::string& group, std::int64_t retried);

// The CLI's tables.
std::string format_summaries(const std::vector<GroupSummary>& summaries);
std::string format_waiting_page(const WaitingPage& page);

}  // namespace paypipe::dlq_retrier
