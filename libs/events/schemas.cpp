#include "events/schemas.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <unordered_map>
#include <stdexcept>

namespace paypipe::events {

// Generated from proto/events/*.json by cmake/embed.cmake.
namespace event_schemas {
std::span<const core::EmbeddedFile> embedded_files();
}

// RapidJSON 1.1's regex (the `pattern` keyword) keeps its search state inside the
// compiled schema, so one SchemaDocument must not validate on two threads at once
// (ASan caught the crash under load). Each Schema keeps its source; each thread
// compiles its own copy on first use.
struct SchemaRegistry::Schema {
  explicit Schema(std::string source) : text(std::move(source)), id(next_id++) {}

  const rapidjson::SchemaDocument& for_this_thread() const {
    thread_local std::unordered_map<std::uint64_t, std::unique_ptr<Compiled>> compiled;
    auto& slot = compiled[id];
    if (!slot) slot = std::make_unique<Compiled>(text);
    return slot->schema;
  }

 private:
  struct Compiled {
    explicit Compiled(const std::string& text) : document(parse(text)), schema(document) {}
    static rapidjson::Document parse(const std::string& text) {
      rapidjson::Document d;
      d.Parse(text.data(), text.size());
      return d;
    }
    rapidjson::Document document;
    rapidjson::SchemaDocument schema;
  };

  std::string text;
  std::uint64_t id;  // unique for the process's lifetime, so a thread's cache never confuses two schemas
  static inline std::atomic<std::uint64_t> next_id{1};
};

SchemaRegistry::SchemaRegistry() = default;
SchemaRegistry::~SchemaRegistry() = default;

const SchemaRegistry& SchemaRegistry::builtin() {
  static const std::shared_ptr<SchemaRegistry> registry = [] {
    auto built = from_files(event_schemas::embedded_files());
    if (!built) throw std::runtime_error(built.error().message);  // a broken build, caught by every test
    return std::move(built).value();
  }();
  return *registry;
}

core::Result<std::shared_ptr<SchemaRegistry>> SchemaRegistry::from_files(std::span<const core::EmbeddedFile> files) {
  auto registry = std::make_shared<SchemaRegistry>();
  for (const auto& file : files) {
    const std::string_view name = file.name;
    const auto dot_v = name.rfind(".v");
    const auto suffix = name.rfind(".json");
    int version = 0;
    if (dot_v == std::string_view::npos || suffix == std::string_view::npos || suffix <= dot_v + 2 ||
        std::from_chars(name.data() + dot_v + 2, name.data() + suffix, version).ec != std::errc() || version < 1) {
      return core::make_error(core::ErrorCategory::internal, "bad-schema-name",
                              "schema file " + std::string(name) + " must be named <type>.v<N>.json");
    }
    rapidjson::Document document;
    document.Parse(file.content.data(), file.content.size());
    if (document.HasParseError()) {
      return core::make_error(core::ErrorCategory::internal, "bad-schema",
                              "schema " + std::string(name) + ": " + rapidjson::GetParseError_En(document.GetParseError()));
    }
    registry->schemas_[std::string(name.substr(0, dot_v))][version] =
        std::make_unique<Schema>(std::string(file.content));
  }
  return registry;
}

bool SchemaRegistry::knows(std::string_view type) const { return schemas_.find(type) != schemas_.end(); }

int SchemaRegistry::latest_version(std::string_view type) const {
  const auto it = schemas_.find(type);
  return it == schemas_.end() ? 0 : it->second.rbegin()->first;
}

std::string SchemaRegistry::dataschema(std::string_view type, int version) {
  return "urn:paypipe:schema:" + std::string(type) + ":" + std::to_string(version);
}

int SchemaRegistry::version_of(std::string_view dataschema) {
  const auto colon = dataschema.rfind(':');
  if (colon == std::string_view::npos) return 0;
  int version = 0;
  const auto* end = dataschema.data() + dataschema.size();
  if (std::from_chars(dataschema.data() + colon + 1, end, version).ptr != end) return 0;
  return version;
}

core::Status SchemaRegistry::validate(std::string_view type, std::string_view data, int version) const {
  const auto it = schemas_.find(type);
  if (it == schemas_.end()) {
    return core::make_error(core::ErrorCategory::invalid_input, "unknown-event-type",
                            "no schema for event type " + std::string(type));
  }
  const auto found = version > 0 ? it->second.find(version) : std::prev(it->second.end());
  if (found == it->second.end()) {
    return core::make_error(core::ErrorCategory::invalid_input, "unknown-schema-version",
                            "no schema version " + std::to_string(version) + " for " + std::string(type));
  }
  rapidjson::Document document;
  document.Parse<rapidjson::kParseIterativeFlag>(data.data(), data.size());
  if (document.HasParseError()) {
    return core::make_error(core::ErrorCategory::invalid_input, "schema-invalid",
                            std::string("data is not JSON: ") + rapidjson::GetParseError_En(document.GetParseError()) +
                                " at offset " + std::to_string(document.GetErrorOffset()));
  }
  rapidjson::SchemaValidator validator(found->second->for_this_thread());
  if (!document.Accept(validator)) {
    rapidjson::StringBuffer document_pointer, schema_pointer;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(document_pointer);
    validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_pointer);
    return core::make_error(core::ErrorCategory::invalid_input, "schema-invalid",
                            std::string(type) + " data fails '" + validator.GetInvalidSchemaKeyword() + "' at " +
                                document_pointer.GetString() + " (schema " + schema_pointer.GetString() + ")");
  }
  return {};
}

}  // namespace paypipe::events
