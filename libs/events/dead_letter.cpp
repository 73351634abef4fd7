#include "events/dead_letter.hpp"

#include <charconv>

namespace paypipe::events {

std::string encode_int32(std::int32_t value) {
  const auto bits = static_cast<std::uint32_t>(value);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((bits >> (8 * (3 - i))) & 0xFF);
  return out;
}

std::string encode_int64(std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((bits >> (8 * (7 - i))) & 0xFF);
  return out;
}

std::optional<std::int32_t> decode_int32(std::string_view bytes) {
  if (bytes.size() != 4) return std::nullopt;
  std::uint32_t bits = 0;
  for (const unsigned char c : bytes) bits = (bits << 8) | c;
  return static_cast<std::int32_t>(bits);
}

std::optional<std::int64_t> decode_int64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  std::uint64_t bits = 0;
  for (const unsigned char c : bytes) bits = (bits << 8) | c;
  return static_cast<std::int64_t>(bits);
}

int attempt_of(const KafkaHeaders& headers) {
  const auto* text = find_header(headers, dlt::attempt);
  if (text == nullptr) return 1;
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size() || value < 1) return 1;
  return value;
}

namespace {

bool is_replaced_on_failure(std::string_view name) {
  return name == dlt::exception_fqcn || name == dlt::exception_message || name == dlt::exception_stacktrace ||
         name == dlt::attempt || name == dlt::failed_at || name == dlt::failure_kind;
}

}  // namespace

OutgoingRecord dead_letter_record(const ConsumedRecord& record, const Outcome& outcome, std::string_view group,
                                  std::string dlq_topic_name, int attempt, core::SystemTime now) {
  OutgoingRecord out;
  out.topic = std::move(dlq_topic_name);
  out.key = record.key;
  out.value = record.value;
  const bool first_failure = find_header(record.headers, dlt::original_topic) == nullptr;
  for (const auto& h : record.headers) {
    if (is_replaced_on_failure(h.name)) continue;
    // Dead letters written before the Spring names ("CREATE_TIME" is no TimestampType name).
    if (h.name == dlt::original_timestamp_type && h.value == "CREATE_TIME") {
      out.headers.push_back({h.name, "CreateTime"});
      continue;
    }
    out.headers.push_back(h);
  }
  const std::string now_text = core::format_rfc3339(now);
  if (first_failure) {
    out.headers.push_back({dlt::original_topic, record.topic});
    out.headers.push_back({dlt::original_partition, encode_int32(record.partition)});
    out.headers.push_back({dlt::original_offset, encode_int64(record.offset)});
    out.headers.push_back({dlt::original_timestamp, encode_int64(record.timestamp_ms)});
    // Kafka's TimestampType.toString(), as Spring writes it (TimestampType.forName reads it).
    out.headers.push_back({dlt::original_timestamp_type, record.log_append_time ? "LogAppendTime" : "CreateTime"});
    out.headers.push_back({dlt::original_consumer_group, std::string(group)});
    out.headers.push_back({dlt::first_failed_at, now_text});
  }
  out.headers.push_back({dlt::exception_fqcn, outcome.error_class});
  out.headers.push_back({dlt::exception_message, outcome.message});
  out.headers.push_back({dlt::exception_stacktrace, outcome.error_class + ": " + outcome.message});
  out.headers.push_back({dlt::attempt, std::to_string(attempt)});
  out.headers.push_back({dlt::failed_at, now_text});
  out.headers.push_back({dlt::failure_kind, to_string(outcome.kind)});
  return out;
}

core::Result<DeadLetterInfo> read_dead_letter(const KafkaHeaders& headers) {
  DeadLetterInfo info;
  auto text = [&](const char* name) -> std::string {
    const auto* value = find_header(headers, name);
    return value ? *value : std::string{};
  };
  info.original_topic = text(dlt::original_topic);
  info.group = text(dlt::original_consumer_group);
  info.failed_at = text(dlt::failed_at);
  if (info.original_topic.empty() || info.group.empty() || !core::parse_rfc3339(info.failed_at)) {
    return core::make_error(core::ErrorCategory::invalid_input, "not-a-dead-letter",
                            "missing kafka_dlt-original-topic, kafka_dlt-original-consumer-group or failed-at");
  }
  if (const auto* v = find_header(headers, dlt::original_partition)) {
    info.original_partition = decode_int32(*v).value_or(-1);
  }
  if (const auto* v = find_header(headers, dlt::original_offset)) info.original_offset = decode_int64(*v).value_or(-1);
  if (const auto* v = find_header(headers, dlt::original_timestamp)) {
    info.original_timestamp_ms = decode_int64(*v).value_or(-1);
  }
  info.error_class = text(dlt::exception_fqcn);
  info.message = text(dlt::exception_message);
  info.attempt = attempt_of(headers);
  info.first_failed_at = text(dlt::first_failed_at);
  if (info.first_failed_at.empty()) info.first_failed_at = info.failed_at;
  info.kind = text(dlt::failure_kind) == "fatal" ? Outcome::Kind::fatal : Outcome::Kind::retryable;
  return info;
}

OutgoingRecord retry_record(const ConsumedRecord& dead_letter, std::string retry_topic_name, int next_attempt) {
  OutgoingRecord out;
  out.topic = std::move(retry_topic_name);
  out.key = dead_letter.key;
  out.value = dead_letter.value;
  for (const auto& h : dead_letter.headers) {
    if (h.name != dlt::attempt) out.headers.push_back(h);
  }
  out.headers.push_back({dlt::attempt, std::to_string(next_attempt)});
  return out;
}

}  // namespace paypipe::events
