#pragma once
// Logging: spdlog's default logger writes one JSON object per line to stderr
// ({"ts","level","service","msg", fields..., "trace_id","span_id"}), which Kubernetes
// collects as it is. Code logs with spdlog::info(...) etc.; the trace comes from
// core::current_trace().
//
// Identifiers an operator filters on (order, payment, event, topic, partition, offset,
// group) are fields, never only words in the message:
//
//   log::Scope scope({{log::key::topic, topic}, {log::key::partition, partition}});
//   spdlog::info("record handled");            // every line in the scope carries them
//   log::info({{log::key::order_id, id}}, "order completed");  // fields for one line
//
// JSON output writes each field as a member (numbers as numbers); text output appends
// them as key=value, quoting values that need it. A field repeated by an inner scope
// or a call site replaces the outer value.
// Never log secrets: configuration values marked secret are never passed to a logger.

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace paypipe::core::log {

enum class Format { json, text };

// Installs the default logger. level: trace|debug|info|warn|error|off.
Status init(std::string_view service, std::string_view level, Format format = Format::json);

// The formatter init() installs, for a logger of one's own (tests).
std::unique_ptr<spdlog::formatter> make_formatter(std::string_view service, Format format);

// The default logger's level, by name.
std::string current_level();
// Changes the default logger's level at run time; returns the previous level's name,
// or invalid_input for a name that is not a level.
Result<std::string> set_level(std::string_view level);

// The field names the project uses, so every service spells them the same way.
namespace key {
inline constexpr std::string_view order_id = "order_id";
inline constexpr std::string_view payment_id = "payment_id";
inline constexpr std::string_view user_id = "user_id";
inline constexpr std::string_view event_id = "event_id";
inline constexpr std::string_view event_type = "event_type";
inline constexpr std::string_view topic = "topic";
inline constexpr std::string_view partition = "partition";
inline constexpr std::string_view offset = "offset";
inline constexpr std::string_view group = "group";
}  // namespace key

struct Field {
  std::string key;
  std::variant<std::string, std::int64_t> value;

  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(static_cast<std::int64_t>(v)) {}
};

// Fields added to every line this thread logs while the scope lives (scopes nest).
class Scope {
 public:
  Scope(std::initializer_list<Field> fields);
  explicit Scope(std::vector<Field> fields);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::size_t added_ = 0;
};

// The fields of the current thread's scopes, outermost first (what the formatter reads).
const std::vector<Field>& current_fields();

// One line with fields of its own: log::warn({{key::order_id, id}}, "order {} expired", n).
template <typename... Args>
void write(spdlog::level::level_enum level, std::vector<Field> fields, spdlog::format_string_t<Args...> format,
           Args&&... args) {
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  const Scope scope(std::move(fields));
  spdlog::log(level, format, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(std::vector<Field> fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::debug, std::move(fields), format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(std::vector<Field> fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::info, std::move(fields), format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(std::vector<Field> fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::warn, std::move(fields), format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(std::vector<Field> fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::err, std::move(fields), format, std::forward<Args>(args)...);
}

}  // namespace paypipe::core::log
