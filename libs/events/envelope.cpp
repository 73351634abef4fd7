#include "events/envelope.hpp"

#include <algorithm>

#include "core/time.hpp"
#include "core/trace.hpp"
#include "core/uuid.hpp"
#include "events/dead_letter.hpp"
#include "events/event_types.hpp"
#include "events/schemas.hpp"

namespace paypipe::events {

Event make_event(std::string type, std::string source, std::string key, std::string data) {
  Event event;
  event.id = core::new_uuid_v7();
  event.type = current_type(type);
  event.source = std::move(source);
  event.time = core::now_rfc3339();
  if (SchemaRegistry::builtin().knows(event.type)) event.dataschema = dataschema_of(event.type);
  const auto& trace = core::current_trace();
  if (!trace.trace_id.empty()) event.traceparent = trace.child().traceparent();
  event.key = std::move(key);
  event.data = std::move(data);
  return event;
}

KafkaHeaders to_headers(const Event& event) {
  KafkaHeaders headers{
      {header::id, event.id},     {header::type, event.type},   {header::source, event.source},
      {header::time, event.time}, {header::specversion, "1.0"}, {header::content_type, "application/json"},
  };
  if (!event.dataschema.empty()) headers.push_back({header::dataschema, event.dataschema});
  if (!event.traceparent.empty()) headers.push_back({header::traceparent, event.traceparent});
  return headers;
}

KafkaHeaders to_headers(const Event& event, const SpringInterop& interop) {
  KafkaHeaders headers = to_headers(event);
  const auto type_id = interop.spring_type_ids.find(topic_of(event.type));
  if (type_id != interop.spring_type_ids.end() && !type_id->second.empty()) {
    headers.push_back({spring_type_id_header, type_id->second});
  }
  return headers;
}

core::Result<Event> from_record(const std::optional<std::string>& key, const std::string& value,
                                const KafkaHeaders& headers) {
  std::string problems;
  auto required = [&](const char* name) -> std::string {
    const auto* found = find_header(headers, name);
    if (found == nullptr || found->empty()) {
      problems += std::string(problems.empty() ? "" : "; ") + "missing header " + name;
      return {};
    }
    if (found->size() > 512) {
      problems += std::string(problems.empty() ? "" : "; ") + "header " + name + " is too long";
      return {};
    }
    return *found;
  };
  Event event;
  event.id = required(header::id);
  event.type = current_type(required(header::type));
  event.source = required(header::source);
  event.time = required(header::time);
  const std::string specversion = required(header::specversion);
  if (!specversion.empty() && specversion != "1.0") {
    problems += (problems.empty() ? "" : "; ") + std::string("unsupported ce_specversion ") + specversion;
  }
  if (!event.time.empty() && !core::parse_rfc3339(event.time)) {
    problems += (problems.empty() ? "" : "; ") + std::string("ce_time is not RFC 3339");
  }
  if (const auto* type = find_header(headers, header::content_type);
      type != nullptr && type->rfind("application/json", 0) != 0) {
    problems += (problems.empty() ? "" : "; ") + std::string("content-type must be application/json");
  }
  if (const auto* schema = find_header(headers, header::dataschema)) event.dataschema = *schema;
  if (const auto* trace = find_header(headers, header::traceparent);
      trace != nullptr && core::TraceContext::parse(*trace)) {
    event.traceparent = *trace;
  }
  if (!problems.empty()) {
    return core::make_error(core::ErrorCategory::invalid_input, "undecodable", "not a CloudEvent: " + problems);
  }
  event.key = key.value_or(std::string{});
  event.data = value;
  return event;
}

namespace {

bool has_cloudevents_headers(const KafkaHeaders& headers) {
  for (const auto& h : headers) {
    if (h.name.starts_with("ce_")) return true;
  }
  return false;
}

// Where the record was first delivered: its own coordinates, or, back from
// retry.<group>, those its dead letter recorded.
struct Coordinates {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
};

Coordinates first_delivery(const ConsumedRecord& record) {
  Coordinates at{record.topic, record.partition, record.offset, record.timestamp_ms};
  const auto* topic = find_header(record.headers, dlt::original_topic);
  const auto* partition = find_header(record.headers, dlt::original_partition);
  const auto* offset = find_header(record.headers, dlt::original_offset);
  if (topic == nullptr || partition == nullptr || offset == nullptr) return at;
  const auto p = decode_int32(*partition);
  const auto o = decode_int64(*offset);
  if (!p || !o) return at;
  at = Coordinates{*topic, *p, *o, record.timestamp_ms};
  if (const auto* ts = find_header(record.headers, dlt::original_timestamp)) {
    at.timestamp_ms = decode_int64(*ts).value_or(record.timestamp_ms);
  }
  return at;
}

}  // namespace

core::Result<Event> event_of(const ConsumedRecord& record, const KafkaOptions& options) {
  const auto& plain = options.interop.plain_json_topics;
  if (plain.empty() || has_cloudevents_headers(record.headers)) {
    return from_record(record.key, record.value, record.headers);
  }
  const Coordinates at = first_delivery(record);
  std::string_view topic = at.topic;
  if (topic.starts_with(options.topic_prefix)) topic.remove_prefix(options.topic_prefix.size());
  // The keys are logical topics; the record names the broker's (mapped and prefixed).
  const auto topic_type = std::ranges::find_if(
      plain, [&](const auto& entry) { return options.topic(entry.first) == at.topic; });
  if (topic_type == plain.end()) return from_record(record.key, record.value, record.headers);
  if (const auto* type = find_header(record.headers, header::content_type);
      type != nullptr && type->rfind("application/json", 0) != 0) {
    return core::make_error(core::ErrorCategory::invalid_input, "undecodable",
                            "plain JSON record: content-type must be application/json");
  }
  Event event;
  event.type = topic_type->second;
  if (const auto* type_id = find_header(record.headers, spring_type_id_header)) {
    const auto mapped = options.interop.plain_json_type_ids.find(*type_id);
    if (mapped != options.interop.plain_json_type_ids.end()) event.type = mapped->second;
  }
  event.id = coordinates_event_id(at.topic, at.partition, at.offset);
  event.source = "/spring/" + std::string(topic);
  event.time = core::format_rfc3339(at.timestamp_ms > 0 ? core::from_unix_ms(at.timestamp_ms) : core::now_ms());
  event.dataschema = dataschema_of(event.type);
  if (const auto* trace = find_header(record.headers, header::traceparent);
      trace != nullptr && core::TraceContext::parse(*trace)) {
    event.traceparent = *trace;
  }
  event.key = record.key.value_or(std::string{});
  event.data = record.value;
  return event;
}

}  // namespace paypipe::events
