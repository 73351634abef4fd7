#pragma once
// Configuration from environment variables, read once at start-up.
//
// Every variable of ours starts with PAYPIPE_. A service's config struct holds its
// defaults; its read(Env&) pulls each field through the typed getters below, then
// Env::finish() reports every bad value AND every PAYPIPE_ variable nobody read (a
// typo), all at once, each by name. Secrets are read with secret(), from the variable or
// from the file <name>_FILE names: their values never appear in an error message.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace paypipe::core {

class Env {
 public:
  static constexpr std::string_view prefix = "PAYPIPE_";

  // A snapshot of the process environment.
  static Env from_process();
  explicit Env(std::map<std::string, std::string> variables);

  std::string text(std::string_view name, std::string default_value);
  std::string required_text(std::string_view name);
  // Like text, but the value is never echoed in errors. <name>_FILE may name a file
  // holding it instead (a Secret mounted as files; the convention of the PostgreSQL
  // image): its content less one trailing newline. Both set is an error, as is a file
  // that cannot be read (named with its path, never its content).
  std::string secret(std::string_view name, std::string default_value = {});
  std::int64_t integer(std::string_view name, std::int64_t default_value, std::int64_t min, std::int64_t max);
  std::chrono::milliseconds millis(std::string_view name, std::chrono::milliseconds default_value,
                                   std::chrono::milliseconds min, std::chrono::milliseconds max);
  // A decimal number such as "1.5".
  double decimal(std::string_view name, double default_value, double min, double max);
  bool flag(std::string_view name, bool default_value);
  std::string choice(std::string_view name, std::string default_value, std::initializer_list<std::string_view> allowed);
  // "key=value;key=value" (for librdkafka properties and similar maps).
  std::map<std::string, std::string> properties(std::string_view name);
  // "a,b,c"
  std::vector<std::string> list(std::string_view name, std::vector<std::string> default_value);

  bool has(std::string_view name) const;

  // Records an error found by a rule across several variables.
  void fail(std::string_view name, std::string message);
  // Records something to tell the operator that is not an error (a deprecated variable
  // still honoured); the daemon logs each at start (runtime::start_logging).
  void warn(std::string_view name, std::string message);
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Every error so far, plus every PAYPIPE_ variable that no getter read. A tool run
  // inside a daemon's pod (paypipe-admin) sees the daemon's variables: it passes
  // report_unknown = false.
  Status finish(bool report_unknown = true) const;

 private:
  const std::string* lookup(std::string_view name);

  std::map<std::string, std::string> variables_;
  std::set<std::string, std::less<>> read_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

// The shortest text that reads back as `value` ("2", "1.5"): how decimals are echoed.
std::string format_decimal(double value);

}  // namespace paypipe::core
