#pragma once
// Event types named the CloudEvents way, in one place.
//
//   ce_type        dev.paypipe.<name>.v<N>     reverse DNS of paypipe.dev, the event's name,
//                                              the version of its schema
//   ce_dataschema  https://paypipe.dev/schemas/events/<name>.v<N>.json
//                                              the schema file (proto/events/<name>.v<N>.json)
//   topic          <name>                      e.g. payment.completed
//
// so a consumer that is not ours finds the schema of a record from its headers alone.
//
// Rolling upgrade: records named the old way (ce_type "payment.completed", ce_dataschema
// "urn:paypipe:schema:payment.completed:1") are still in topics, retry.<group> and
// dlq.<group> after the upgrade, and old producers may still write them for a while.
// current_type() maps the old names to the new ones (the alias table); from_record
// applies it, so every consumer handles an old-named record like the new one.

#include <optional>
#include <string>
#include <string_view>

namespace paypipe::events {

inline constexpr std::string_view type_prefix = "dev.paypipe.";
inline constexpr std::string_view schema_base_url = "https://paypipe.dev/schemas/events/";

// What a type names: the event's name (its topic, its schema file's stem) and version.
struct TypeName {
  std::string name;
  int version = 0;
};

// "dev.paypipe.payment.completed.v1" -> {"payment.completed", 1}; nullopt for anything else.
std::optional<TypeName> parse_type(std::string_view type);

// The type of an event as named before the CloudEvents naming ("payment.completed") in
// its current name ("dev.paypipe.payment.completed.v1"); any other type unchanged.
std::string current_type(std::string_view type);

// The topic of a type: its name ("payment.completed"); a type not of our form is its own topic.
std::string topic_of(std::string_view type);

// The URL of the schema of a type of our form, the value of ce_dataschema; empty otherwise.
std::string dataschema_of(std::string_view type);

}  // namespace paypipe::events
