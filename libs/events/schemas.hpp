#pragma once
// The JSON Schemas of our event types (proto/events/<type>.v<N>.json, compiled into the
// binary), checked with RapidJSON's validator when an event is produced and when it is
// consumed.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/embedded.hpp"
#include "core/error.hpp"

namespace paypipe::events {

class SchemaRegistry {
 public:
  // The registry of proto/events/, built once. Thread-safe.
  static const SchemaRegistry& builtin();

  // Files named "<type>.v<version>.json"; a malformed schema is a start-up error.
  static core::Result<std::shared_ptr<SchemaRegistry>> from_files(std::span<const core::EmbeddedFile> files);

  // A type is "dev.paypipe.<name>.v<N>" (events/event_types.hpp), which names the file
  // <name>.v<N>.json; a bare "<name>" (tests, tools) means its newest version.
  // Validates `data` against the schema of `type` (`version`, when not 0, for a bare name).
  // invalid_input with code "schema-invalid" naming the failing keyword and the JSON
  // pointers of the document and the schema; or "unknown-event-type".
  core::Status validate(std::string_view type, std::string_view data, int version = 0) const;

  bool knows(std::string_view type) const;
  int latest_version(std::string_view type) const;
  // The version in a ce_dataschema value (".../<name>.v<N>.json", or the URN
  // "urn:paypipe:schema:<name>:<N>" of records written before the CloudEvents naming), or 0.
  static int version_of(std::string_view dataschema);

  ~SchemaRegistry();
  SchemaRegistry();

 private:
  struct Schema;
  std::map<std::string, std::map<int, std::unique_ptr<Schema>>, std::less<>> schemas_;  // by <name>
};

}  // namespace paypipe::events
