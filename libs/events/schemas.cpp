#include "events/schemas.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <unordered_map>

#include "events/event_types.hpp"

namespace paypipe::events {

// Generated from proto/events/*.json by cmake/embed.cmake.
namespace event_schemas {
std::span<const core::EmbeddedFile> embedded_files();
}

// RapidJSON 1.1's regex (the `pattern` keyword) keeps its search state inside the
// compiled schema, so one SchemaDocument must not validate on two threads at once
// (ASan caught the crash under load). Each Schema keeps its source; each thread
// compiles its own copy on first use, with a validator it resets for every document
// (its stacks are allocated once, not per event).
struct SchemaRegistry::Schema {
  explicit Schema(std::string source) : text(std::move(source)), id(next_id++) {}

  rapidjson::SchemaValidator& validator_for_this_thread() const {
    thread_local std::unordered_map<std::uint64_t, std::unique_ptr<Compiled>> compiled;
    auto& slot = compiled[id];
    if (!slot) slot = std::make_unique<Compiled>(text);
    slot->validator.Reset();
    return slot->validator;
  }

 private:
  struct Compiled {
    explicit Compiled(const std::string& text) : document(parse(text)), schema(document), validator(schema) {}
    static rapidjson::Document parse(const std::string& text) {
      rapidjson::Document d;
      d.Parse(text.data(), text.size());
      return d;
    }
    rapidjson::Document document;
    rapidjson::SchemaDocument schema;
    rapidjson::SchemaValidator validator;
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
      return core::make_error(
          core::ErrorCategory::internal, "bad-schema",
          "schema " + std::string(name) + ": " + rapidjson::GetParseError_En(document.GetParseError()));
    }
    registry->schemas_[std::string(name.substr(0, dot_v))][version] = std::make_unique<Schema>(
        std::string(file.content));
  }
  return registry;
}

namespace {

// The schema file a type names: "dev.paypipe.<name>.v<N>" -> (<name>, N); a bare name -> (name, `version`).
std::pair<std::string, int> schema_of(std::string_view type, int version) {
  if (auto parsed = parse_type(type)) return {std::move(parsed->name), parsed->version};
  return {std::string(type), version};
}

}  // namespace

bool SchemaRegistry::knows(std::string_view type) const {
  const auto [name, version] = schema_of(type, 0);
  const auto it = schemas_.find(name);
  return it != schemas_.end() && (version == 0 || it->second.count(version) > 0);
}

int SchemaRegistry::latest_version(std::string_view type) const {
  const auto it = schemas_.find(schema_of(type, 0).first);
  return it == schemas_.end() ? 0 : it->second.rbegin()->first;
}

int SchemaRegistry::version_of(std::string_view dataschema) {
  // ".../<name>.v<N>.json", or "urn:paypipe:schema:<name>:<N>".
  std::string_view digits;
  if (dataschema.ends_with(".json")) {
    const auto stem = dataschema.substr(0, dataschema.size() - 5);
    const auto dot_v = stem.rfind(".v");
    if (dot_v == std::string_view::npos) return 0;
    digits = stem.substr(dot_v + 2);
  } else {
    const auto colon = dataschema.rfind(':');
    if (colon == std::string_view::npos) return 0;
    digits = dataschema.substr(colon + 1);
  }
  int version = 0;
  const auto* end = digits.data() + digits.size();
  if (digits.empty() || std::from_chars(digits.data(), end, version).ptr != end) return 0;
  return version;
}

core::Status SchemaRegistry::validate(std::string_view type, std::string_view data, int requested) const {
  const auto [name, version] = schema_of(type, requested);
  const auto it = schemas_.find(name);
  if (it == schemas_.end()) {
    return core::make_error(core::ErrorCategory::invalid_input, "unknown-event-type",
                            "no schema for event type " + std::string(type));
  }
  const auto found = version > 0 ? it->second.find(version) : std::prev(it->second.end());
  if (found == it->second.end()) {
    return core::make_error(core::ErrorCategory::invalid_input, "unknown-schema-version",
                            "no schema version " + std::to_string(version) + " for " + std::string(type));
  }
  // An event's document lives only for this check: its values go to a buffer on the
  // stack (a larger one spills to the heap), not to a fresh 64 KiB chunk per event
  // (RapidJSON's default pool: a malloc and free that large per event showed in profiles).
  alignas(16) char pool_buffer[8 * 1024];
  rapidjson::MemoryPoolAllocator<> pool(pool_buffer, sizeof pool_buffer);
  rapidjson::Document document(&pool);
  document.Parse<rapidjson::kParseIterativeFlag>(data.data(), data.size());
  if (document.HasParseError()) {
    return core::make_error(core::ErrorCategory::invalid_input, "schema-invalid",
                            std::string("data is not JSON: ") + rapidjson::GetParseError_En(document.GetParseError()) +
                                " at offset " + std::to_string(document.GetErrorOffset()));
  }
  auto& validator = found->second->validator_for_this_thread();
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
