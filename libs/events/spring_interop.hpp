#pragma once
// Spring Kafka producers and consumers on our topics, while services move over one at a
// time (docs/operations.md, "Spring producers and consumers on our topics").
//
// Reading: a topic named in `plain_json_topics` also accepts records WITHOUT CloudEvents
// headers, as Spring's JsonSerializer writes them: the value is the object as JSON, and
// a `__TypeId__` header may name its Java class. Such a record becomes an Event:
//   type        plain_json_type_ids[__TypeId__] when the header names a mapped class,
//               else the topic's type (an unmapped class name is not an error: a Spring
//               producer always sends its own class name)
//   id          a UUID (version 8) derived from the record's coordinates, topic/partition/
//               offset: Spring producers send no id, and the coordinates are the same on
//               every redelivery, so the idempotency key holds. A record that comes back
//               through retry.<group> keeps the id of its first delivery (its
//               kafka_dlt-original-* headers name the coordinates).
//   time        the record's timestamp; source "/spring/<topic>"; dataschema of the type
// and is validated against the type's JSON schema like any other event: the payload
// must carry our schema's field names (proto/events/<name>.v<N>.json). A record WITH
// CloudEvents headers is read as a CloudEvent on every topic.
//
// Writing: a topic named in `spring_type_ids` gets a `__TypeId__` header with the Java
// class name a Spring listener's JsonDeserializer instantiates (an empty name: no header,
// for listeners with a default type). The CloudEvents headers stay: Spring ignores
// headers it does not know, and the value is the same JSON object either way.
//
// Configuration (the environment, read by runtime::CommonConfig; the keys are logical topic
// names, mapped by the naming and prefixed like every topic; the types are ours, old names accepted):
//   PAYPIPE_PLAIN_JSON_TOPICS    "<topic>=<type>;..."  e.g. "order.completed=dev.paypipe.order.completed.v1"
//   PAYPIPE_PLAIN_JSON_TYPE_IDS  "<java class>=<type>;..."
//   PAYPIPE_SPRING_TYPE_IDS      "<topic>=<java class or empty>;..."

#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace paypipe::events {

inline constexpr const char* spring_type_id_header = "__TypeId__";

struct SpringInterop {
  std::map<std::string, std::string, std::less<>> plain_json_topics;    // topic -> type
  std::map<std::string, std::string, std::less<>> plain_json_type_ids;  // Java class -> type
  std::map<std::string, std::string, std::less<>> spring_type_ids;      // topic -> Java class ("" = none)
};

// Checks and normalises the three maps above (types named the old way become current;
// every type must have a schema, every class name be a Java binary name). The error
// (invalid_input, code "invalid-spring-interop") names each bad entry and its variable.
core::Result<SpringInterop> make_spring_interop(const std::map<std::string, std::string>& plain_json_topics,
                                                const std::map<std::string, std::string>& plain_json_type_ids,
                                                const std::map<std::string, std::string>& spring_type_ids);

// The deterministic event id of a record without one: a version 8 UUID of "topic/partition/offset".
std::string coordinates_event_id(std::string_view topic, std::int32_t partition, std::int64_t offset);

}  // namespace paypipe::events
