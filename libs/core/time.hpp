#pragma once
// Wall-clock instants as RFC 3339 UTC text with milliseconds ("2026-11-23T06:53:00.123Z"),
// the form of CloudEvents' `time`, our JSON bodies and our dead-letter headers.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace paypipe::core {

using SystemTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

SystemTime now_ms();
std::string format_rfc3339(SystemTime time);
inline std::string now_rfc3339() { return format_rfc3339(now_ms()); }

// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; fractions beyond
// milliseconds are truncated. Returns nullopt for anything else.
std::optional<SystemTime> parse_rfc3339(std::string_view text);

std::int64_t to_unix_ms(SystemTime time);
SystemTime from_unix_ms(std::int64_t millis);

}  // namespace paypipe::core
