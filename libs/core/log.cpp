#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <chrono>
#include <iterator>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/trace.hpp"

namespace paypipe::core::log {

namespace {

thread_local std::vector<Field> fields;

// Keys the line itself writes; a field by one of these names would duplicate a member.
bool reserved(std::string_view key) {
  return key == "ts" || key == "level" || key == "service" || key == "msg" || key == "trace_id" || key == "span_id";
}

// Calls visit(field) for each field in effect: the last one of each key, skipping
// reserved keys, in the order they were added.
template <typename Visit>
void for_each_field(Visit visit) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& field = fields[i];
    if (reserved(field.key)) continue;
    bool replaced = false;
    for (std::size_t j = i + 1; j < fields.size() && !replaced; ++j) replaced = fields[j].key == field.key;
    if (!replaced) visit(field);
  }
}

std::string_view level_name(spdlog::level::level_enum level) {
  const auto name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    json::Writer w;
    w.begin_object()
        .field("ts", format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time)))
        .field("level", level_name(msg.level))
        .field("service", service_)
        .field("msg", std::string_view(msg.payload.data(), msg.payload.size()));
    for_each_field([&w](const Field& field) {
      w.key(field.key);
      std::visit([&w](const auto& value) { w.value(value); }, field.value);
    });
    const auto& trace = current_trace();
    if (!trace.trace_id.empty()) w.field("trace_id", trace.trace_id).field("span_id", trace.span_id);
    w.end_object();
    const auto text = w.view();
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(service_); }

 private:
  std::string service_;
};

// logfmt-style value: bare when it is a plain word, else double-quoted with \" \\ \n
// \r \t and \u00XX escapes, so one log line stays one line.
void append_text_value(std::string_view value, spdlog::memory_buf_t& dest) {
  const bool bare = !value.empty() && value.find_first_of(" \"\\=") == std::string_view::npos &&
                    std::none_of(value.begin(), value.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (bare) {
    dest.append(value.data(), value.data() + value.size());
    return;
  }
  dest.push_back('"');
  for (const char c : value) {
    switch (c) {
      case '"': dest.append(std::string_view("\\\"")); break;
      case '\\': dest.append(std::string_view("\\\\")); break;
      case '\n': dest.append(std::string_view("\\n")); break;
      case '\r': dest.append(std::string_view("\\r")); break;
      case '\t': dest.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          dest.push_back(c);
        }
    }
  }
  dest.push_back('"');
}

// The text pattern's %* flag: " key=value" for each field, then the trace id.
class TextFields final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    for_each_field([&dest](const Field& field) {
      dest.push_back(' ');
      dest.append(std::string_view(field.key));
      dest.push_back('=');
      if (const auto* number = std::get_if<std::int64_t>(&field.value)) {
        fmt::format_to(std::back_inserter(dest), "{}", *number);
      } else {
        append_text_value(std::get<std::string>(field.value), dest);
      }
    });
    const auto& trace = current_trace();
    if (!trace.trace_id.empty()) {
      dest.append(std::string_view(" trace_id="));
      dest.append(std::string_view(trace.trace_id));
    }
  }

  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TextFields>(); }
};

}  // namespace

Scope::Scope(std::initializer_list<Field> added) : Scope(std::vector<Field>(added)) {}

Scope::Scope(std::vector<Field> added) : added_(added.size()) {
  for (auto& field : added) fields.push_back(std::move(field));
}

Scope::~Scope() { fields.erase(fields.end() - static_cast<std::ptrdiff_t>(added_), fields.end()); }

const std::vector<Field>& current_fields() { return fields; }

std::unique_ptr<spdlog::formatter> make_formatter(std::string_view service, Format format) {
  if (format == Format::json) return std::make_unique<JsonFormatter>(std::string(service));
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<TextFields>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [" + std::string(service) +
                                                   "] %v%*");
  return formatter;
}

Status init(std::string_view service, std::string_view level, Format format) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return make_error(ErrorCategory::invalid_input, "bad-log-level", "unknown log level: " + std::string(level));
  }
  // Not through spdlog's registry helpers: init may run again (tests) with the same name.
  auto logger = std::make_shared<spdlog::logger>(std::string(service),
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(make_formatter(service, format));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

std::string current_level() {
  // The names PAYPIPE_LOG_LEVEL takes ("warn", "error"), not spdlog's "warning" and "err".
  switch (spdlog::default_logger_raw()->level()) {
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    default: return std::string(level_name(spdlog::default_logger_raw()->level()));
  }
}

Result<std::string> set_level(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return make_error(
        ErrorCategory::invalid_input, "bad-log-level",
        "unknown log level: \"" + std::string(level) + "\" (trace, debug, info, warn, error, critical, off)");
  }
  auto previous = current_level();
  spdlog::default_logger_raw()->set_level(parsed);
  return previous;
}

}  // namespace paypipe::core::log
