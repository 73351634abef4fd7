#include "dlq_retrier/decision.hpp"

#include "events/dead_letter.hpp"

namespace paypipe::dlq_retrier {

namespace dlt = events::dlt;

std::optional<std::string> group_of_dlq_topic(std::string_view topic, const events::KafkaOptions& options) {
  if (!topic.starts_with(options.topic_prefix)) return std::nullopt;
  return options.naming.group_of_dlq_topic(topic.substr(options.topic_prefix.size()));
}

namespace {

std::string header_text(const events::KafkaHeaders& headers, const char* name) {
  const auto* value = events::find_header(headers, name);
  return value ? *value : std::string{};
}

// Only well-formed instants are kept: the store's timestamp columns read them.
std::string instant(const events::KafkaHeaders& headers, const char* name) {
  auto text = header_text(headers, name);
  return core::parse_rfc3339(text) ? text : std::string{};
}

}  // namespace

ParkedRecord parked_record_of(const events::ConsumedRecord& dead_letter, std::string group, std::string reason,
                              std::string reason_detail) {
  const auto& h = dead_letter.headers;
  ParkedRecord p;
  p.group = std::move(group);
  p.reason = std::move(reason);
  p.reason_detail = std::move(reason_detail);
  // Read one by one (not through read_dead_letter), so a Spring record keeps what it has.
  p.original_topic = header_text(h, dlt::original_topic);
  if (const auto* v = events::find_header(h, dlt::original_partition)) {
    p.original_partition = events::decode_int32(*v).value_or(-1);
  }
  if (const auto* v = events::find_header(h, dlt::original_offset)) {
    p.original_offset = events::decode_int64(*v).value_or(-1);
  }
  if (const auto* v = events::find_header(h, dlt::original_timestamp)) {
    p.original_timestamp_ms = events::decode_int64(*v);
  }
  p.dlq_topic = dead_letter.topic;
  p.dlq_partition = dead_letter.partition;
  p.dlq_offset = dead_letter.offset;
  p.key = dead_letter.key;
  p.value = dead_letter.value;
  p.headers = dead_letter.headers;
  p.error_class = header_text(h, dlt::exception_fqcn);
  if (p.error_class.empty()) p.error_class = "paypipe.dlq-retrier.NotADeadLetter";
  p.message = header_text(h, dlt::exception_message);
  if (p.message.empty()) p.message = p.reason_detail;
  p.attempt = events::attempt_of(h);
  p.failed_at = instant(h, dlt::failed_at);
  p.first_failed_at = instant(h, dlt::first_failed_at);
  if (p.first_failed_at.empty()) p.first_failed_at = p.failed_at;
  return p;
}

Decision decide(const events::ConsumedRecord& dead_letter, const events::KafkaOptions& options,
                const RetrySchedule& schedule, core::SystemTime now) {
  // The subscription's pattern only matches dlq.* topics; the fallback keeps a stray
  // record visible rather than lost.
  auto group = group_of_dlq_topic(dead_letter.topic, options).value_or(std::string{});
  if (group.empty()) {
    return Park{parked_record_of(dead_letter, "", reason::foreign, "not read from a dlq.<group> topic")};
  }
  const auto info = events::read_dead_letter(dead_letter.headers);
  if (!info) {
    return Park{parked_record_of(dead_letter, std::move(group), reason::foreign,
                                 "not a paypipe dead letter: " + info.error().message)};
  }
  if (info->kind == events::Outcome::Kind::fatal) {
    return Park{
        parked_record_of(dead_letter, std::move(group), reason::fatal,
                         "fatal failure on attempt " + std::to_string(info->attempt) + ": " + info->error_class)};
  }
  if (schedule.exhausted(info->attempt)) {
    return Park{parked_record_of(
        dead_letter, std::move(group), reason::exhausted,
        "delivery " + std::to_string(info->attempt) + " of " + std::to_string(schedule.max_deliveries()) + " (" +
            std::to_string(schedule.backoff.max_retries()) + " re-deliveries) failed: " + info->error_class)};
  }
  // read_dead_letter checked failed-at.
  const auto due = *core::parse_rfc3339(info->failed_at) + schedule.delay(group, info->attempt);
  if (due > now) return Wait{due};
  const int next = info->attempt + 1;
  auto record = events::retry_record(dead_letter, options.topic(events::retry_topic(group)), next);
  return Republish{std::move(record), std::move(group), next};
}

events::OutgoingRecord replay_record(const ParkedRecord& parked, const events::KafkaOptions& options) {
  events::ConsumedRecord record;
  record.topic = parked.dlq_topic;
  record.partition = parked.dlq_partition;
  record.offset = parked.dlq_offset;
  record.key = parked.key;
  record.value = parked.value;
  record.headers = parked.headers;
  return events::retry_record(record, options.topic(events::retry_topic(parked.group)), 1);
}

}  // namespace paypipe::dlq_retrier
