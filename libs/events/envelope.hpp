#pragma once
// CloudEvents 1.0 in Kafka binary mode: the record value is the event data (JSON) and
// the attributes travel as headers ce_id, ce_type, ce_source, ce_time, ce_specversion,
// content-type, plus ce_dataschema and W3C traceparent. The record key is the
// aggregate id (order id, payment's order id, coupon id), which orders events per key.

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

struct Event {
  std::string id;           // ce_id: a UUID, the idempotency key downstream
  std::string type;         // ce_type, e.g. "dev.paypipe.payment.completed.v1"; topic_of(type) is its topic
  std::string source;       // ce_source, e.g. "/paypipe/payment-api"
  std::string time;         // ce_time, RFC 3339
  std::string dataschema;   // ce_dataschema, the schema file's URL (events/event_types.hpp); may be empty
  std::string traceparent;  // W3C; may be empty
  std::string key;          // Kafka record key
  std::string data;         // the JSON document
};

// Header names, in one place.
namespace header {
inline constexpr const char* id = "ce_id";
inline constexpr const char* type = "ce_type";
inline constexpr const char* source = "ce_source";
inline constexpr const char* time = "ce_time";
inline constexpr const char* specversion = "ce_specversion";
inline constexpr const char* dataschema = "ce_dataschema";
inline constexpr const char* content_type = "content-type";
inline constexpr const char* traceparent = "traceparent";
}  // namespace header

// Creates an event with a new UUIDv7 id, the current time, the current trace and the
// URL of its type's schema. A type named the old way ("payment.completed") is written
// in its current name (current_type).
Event make_event(std::string type, std::string source, std::string key, std::string data);

// What libs/contracts gives each event type: its ce_type, its decoder and (found by
// argument-dependent lookup) its encoder.
template <typename C>
concept EventContract = requires(const C& data, std::string_view json) {
  { C::type } -> std::convertible_to<std::string_view>;
  { C::decode(json) } -> std::same_as<core::Result<C>>;
  { encode(data) } -> std::convertible_to<std::string>;
};

// make_event for a contract: the type and the encoding come from the contract.
template <EventContract C>
Event make_event(std::string source, std::string key, const C& data) {
  return make_event(std::string(C::type), std::move(source), std::move(key), encode(data));
}

KafkaHeaders to_headers(const Event& event);
// The same, plus Spring's `__TypeId__` header when `interop` names a class for the
// event's topic (events/spring_interop.hpp).
KafkaHeaders to_headers(const Event& event, const SpringInterop& interop);

// Decodes the CloudEvents attributes from a record's headers; a ce_type named the old
// way comes back in its current name (current_type), so consumers accept both during a
// rolling upgrade. The error (invalid_input,
// code "undecodable") names what is missing or wrong; the data is not parsed here
// (schema validation does that).
core::Result<Event> from_record(const std::optional<std::string>& key, const std::string& value,
                                const KafkaHeaders& headers);

// The event of a consumed record: from_record, or, for a record without CloudEvents
// headers on a topic of options.interop.plain_json_topics (the topic it was first
// delivered on, for one back from retry.<group>), the plain-JSON event described in
// events/spring_interop.hpp. The data is not parsed here either.
core::Result<Event> event_of(const ConsumedRecord& record, const KafkaOptions& options);

}  // namespace paypipe::events
