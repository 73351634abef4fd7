#pragma once
// Logging: spdlog's default logger writes one JSON object per line to stderr
// ({"ts","level","service","msg","trace_id"}), which Kubernetes collects as it is.
// Code logs with spdlog::info(...) etc.; the trace id comes from core::current_trace().
// Never log secrets: configuration values marked secret are never passed to a logger.

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace paypipe::core::log {

enum class Format { json, text };

// Installs the default logger. level: trace|debug|info|warn|error|off.
Status init(std::string_view service, std::string_view level, Format format = Format::json);

}  // namespace paypipe::core::log
