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

  // Validates `data` against the schema of `type` at `version` (0 = the newest).
  // invalid_input with code "schema-invalid" naming the failing keyword and the JSON
  // pointers of the document and the schema; or "unknown-event-type".
  core::Status validate(std::string_view type, std::string_view data, int version = 0) const;

  bool knows(std::string_view type) const;
  int latest_version(std::string_view type) const;
  // "urn:paypipe:schema:<type>:<version>", the value of ce_dataschema.
  static std::string dataschema(std::string_view type, int version);
  // The version in a ce_dataschema value, or 0.
  static int version_of(std::string_view dataschema);

  ~SchemaRegistry();
  SchemaRegistry();

 private:
  struct Schema;
  std::map<std::string, std::map<int, std::unique_ptr<Schema>>, std::less<>> schemas_;
};

}  // namespace paypipe::events
