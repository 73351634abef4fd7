#include "events/spring_interop.hpp"

#include <cstdio>

#include "events/event_types.hpp"
#include "events/schemas.hpp"

namespace paypipe::events {

namespace {

// A Java binary class name: identifiers joined by dots ("com.example.Event$Inner").
bool is_java_class_name(std::string_view name) {
  if (name.empty() || name.size() > 512) return false;
  bool segment_start = true;
  for (const char c : name) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (segment_start) return false;
      segment_start = true;
    } else if (letter || (digit && !segment_start)) {
      segment_start = false;
    } else {
      return false;
    }
  }
  return !segment_start;
}

// 64-bit FNV-1a from `basis`: two bases give the 128 bits of the id.
std::uint64_t fnv1a(std::string_view text, std::uint64_t basis) {
  std::uint64_t hash = basis;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

core::Result<SpringInterop> make_spring_interop(const std::map<std::string, std::string>& plain_json_topics,
                                                const std::map<std::string, std::string>& plain_json_type_ids,
                                                const std::map<std::string, std::string>& spring_type_ids) {
  std::string problems;
  auto problem = [&](std::string_view variable, const std::string& text) {
    problems += (problems.empty() ? "" : "; ") + std::string(variable) + ": " + text;
  };
  auto known_type = [&](std::string_view variable, const std::string& type) -> std::string {
    std::string current = current_type(type);
    if (!SchemaRegistry::builtin().knows(current)) problem(variable, "unknown event type \"" + type + "\"");
    return current;
  };
  SpringInterop interop;
  for (const auto& [topic, type] : plain_json_topics) {
    interop.plain_json_topics[topic] = known_type("PAYPIPE_PLAIN_JSON_TOPICS", type);
  }
  for (const auto& [class_name, type] : plain_json_type_ids) {
    if (!is_java_class_name(class_name)) {
      problem("PAYPIPE_PLAIN_JSON_TYPE_IDS", "\"" + class_name + "\" is not a Java class name");
    }
    interop.plain_json_type_ids[class_name] = known_type("PAYPIPE_PLAIN_JSON_TYPE_IDS", type);
  }
  for (const auto& [topic, class_name] : spring_type_ids) {
    if (!class_name.empty() && !is_java_class_name(class_name)) {
      problem("PAYPIPE_SPRING_TYPE_IDS", "\"" + class_name + "\" is not a Java class name");
    }
    interop.spring_type_ids[topic] = class_name;
  }
  if (!problems.empty()) {
    return core::make_error(core::ErrorCategory::invalid_input, "invalid-spring-interop", problems);
  }
  return interop;
}

std::string coordinates_event_id(std::string_view topic, std::int32_t partition, std::int64_t offset) {
  const std::string name = std::string(topic) + '/' + std::to_string(partition) + '/' + std::to_string(offset);
  std::uint64_t high = fnv1a(name, 0xcbf29ce484222325ULL);
  std::uint64_t low = fnv1a(name, 0x84222325cbf29ce4ULL);
  high = (high & ~0xF000ULL) | 0x8000ULL;                          // version 8: custom
  low = (low & ~(0xC0ULL << 56)) | (0x80ULL << 56);                // variant 10
  char text[37];
  std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xFFFF), static_cast<unsigned long long>(high & 0xFFFF),
                static_cast<unsigned long long>(low >> 48), static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return text;
}

}  // namespace paypipe::events
