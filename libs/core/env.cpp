#include "core/env.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>

extern char** environ;

namespace paypipe::core {

namespace {

// Variables of the scripts and the test harness that share our prefix but configure no
// daemon; a daemon started from such a shell must not call them unknown.
bool is_tool_variable(std::string_view name) {
  return name == "PAYPIPE_CACHE" || name == "PAYPIPE_STACK_ENV" || name == "PAYPIPE_BUILD_DIR" ||
         name == "PAYPIPE_SOURCE_DIR" || name == "PAYPIPE_BUILD";
}

// The whole content of a file, or the reason it cannot be read (never any of its content).
Result<std::string> read_whole_file(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return make_error(ErrorCategory::invalid_input, "unreadable-file", std::strerror(errno));
  std::string content;
  char buffer[4096];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, file.get())) content.append(buffer, n);
  // A directory opens but cannot be read (EISDIR): an error, not an empty secret.
  if (std::ferror(file.get())) return make_error(ErrorCategory::invalid_input, "unreadable-file", std::strerror(errno));
  return content;
}

}  // namespace

std::string format_decimal(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

Env Env::from_process() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = text.substr(0, eq);
    if (name.substr(0, prefix.size()) != prefix || is_tool_variable(name)) continue;
    variables.emplace(std::string(name), std::string(text.substr(eq + 1)));
  }
  return Env(std::move(variables));
}

Env::Env(std::map<std::string, std::string> variables) : variables_(std::move(variables)) {}

const std::string* Env::lookup(std::string_view name) {
  read_.emplace(name);
  const auto it = variables_.find(std::string(name));
  return it == variables_.end() ? nullptr : &it->second;
}

bool Env::has(std::string_view name) const { return variables_.count(std::string(name)) != 0; }

void Env::fail(std::string_view name, std::string message) {
  // A variable read twice (the admin token by the common and a service's own config) is
  // one mistake, told once.
  auto error = std::string(name) + ": " + std::move(message);
  if (std::find(errors_.begin(), errors_.end(), error) == errors_.end()) errors_.push_back(std::move(error));
}

void Env::warn(std::string_view name, std::string message) {
  warnings_.push_back(std::string(name) + ": " + std::move(message));
}

std::string Env::text(std::string_view name, std::string default_value) {
  if (const auto* value = lookup(name)) return *value;
  return default_value;
}

std::string Env::required_text(std::string_view name) {
  const auto* value = lookup(name);
  if (value == nullptr || value->empty()) {
    fail(name, "is required");
    return {};
  }
  return *value;
}

std::string Env::secret(std::string_view name, std::string default_value) {
  const std::string file_variable = std::string(name) + "_FILE";
  const auto* value = lookup(name);
  const auto* path = lookup(file_variable);
  if (value != nullptr && path != nullptr) {
    fail(name, "set either " + std::string(name) + " or " + file_variable + ", not both");
    return default_value;
  }
  if (value != nullptr) return *value;
  if (path == nullptr) return default_value;
  auto content = read_whole_file(*path);
  if (!content) {
    fail(file_variable, "cannot read \"" + *path + "\": " + content.error().message);
    return default_value;
  }
  // Files written by editors and `echo` end in a newline that is no part of the secret.
  if (!content->empty() && content->back() == '\n') content->pop_back();
  return std::move(*content);
}

std::int64_t Env::integer(std::string_view name, std::int64_t default_value, std::int64_t min, std::int64_t max) {
  const auto* value = lookup(name);
  if (value == nullptr) return default_value;
  std::int64_t number = 0;
  const auto* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, number);
  if (ec != std::errc() || ptr != end) {
    fail(name, "must be an integer, got \"" + *value + "\"");
    return default_value;
  }
  if (number < min || number > max) {
    fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + *value);
    return default_value;
  }
  return number;
}

std::chrono::milliseconds Env::millis(std::string_view name, std::chrono::milliseconds default_value,
                                      std::chrono::milliseconds min, std::chrono::milliseconds max) {
  return std::chrono::milliseconds(integer(name, default_value.count(), min.count(), max.count()));
}

double Env::decimal(std::string_view name, double default_value, double min, double max) {
  const auto* value = lookup(name);
  if (value == nullptr) return default_value;
  double number = 0;
  const auto* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, number, std::chars_format::fixed);
  if (ec != std::errc() || ptr != end) {
    fail(name, "must be a decimal number such as 1.5, got \"" + *value + "\"");
    return default_value;
  }
  if (number < min || number > max) {
    fail(name, "must be between " + format_decimal(min) + " and " + format_decimal(max) + ", got " + *value);
    return default_value;
  }
  return number;
}

bool Env::flag(std::string_view name, bool default_value) {
  const auto* value = lookup(name);
  if (value == nullptr) return default_value;
  if (*value == "true" || *value == "1" || *value == "yes") return true;
  if (*value == "false" || *value == "0" || *value == "no") return false;
  fail(name, "must be true or false, got \"" + *value + "\"");
  return default_value;
}

std::string Env::choice(std::string_view name, std::string default_value,
                        std::initializer_list<std::string_view> allowed) {
  const auto* value = lookup(name);
  if (value == nullptr) return default_value;
  for (const auto option : allowed) {
    if (*value == option) return *value;
  }
  std::string list;
  for (const auto option : allowed) list += (list.empty() ? "" : ", ") + std::string(option);
  fail(name, "must be one of " + list + ", got \"" + *value + "\"");
  return default_value;
}

std::map<std::string, std::string> Env::properties(std::string_view name) {
  std::map<std::string, std::string> result;
  const auto* value = lookup(name);
  if (value == nullptr) return result;
  std::string_view rest(*value);
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    const auto item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      fail(name, "entries must be key=value separated by ';', got \"" + std::string(item) + "\"");
      continue;
    }
    result[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
  }
  return result;
}

std::vector<std::string> Env::list(std::string_view name, std::vector<std::string> default_value) {
  const auto* value = lookup(name);
  if (value == nullptr) return default_value;
  std::vector<std::string> result;
  std::string_view rest(*value);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) result.emplace_back(item);
  }
  return result;
}

Status Env::finish(bool report_unknown) const {
  std::vector<std::string> all = errors_;
  for (const auto& [name, value] : variables_) {
    if (report_unknown && read_.count(name) == 0) {
      all.push_back(name + ": unknown variable (misspelt, or not used by this service)");
    }
  }
  if (all.empty()) return {};
  std::string message = "configuration errors:";
  for (const auto& e : all) message += "\n  " + e;
  return make_error(ErrorCategory::invalid_input, "bad-configuration", message);
}

}  // namespace paypipe::core
