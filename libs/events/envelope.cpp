#include "events/envelope.hpp"

#include "core/time.hpp"
#include "core/trace.hpp"
#include "core/uuid.hpp"
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

}  // namespace paypipe::events
