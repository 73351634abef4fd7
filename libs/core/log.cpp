#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/trace.hpp"

namespace paypipe::core::log {

namespace {

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string service) : service_(std::move(service)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    json::Writer w;
    w.begin_object()
        .field("ts", format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time)))
        .field("level", std::string_view(spdlog::level::to_string_view(msg.level).data(),
                                         spdlog::level::to_string_view(msg.level).size()))
        .field("service", service_)
        .field("msg", std::string_view(msg.payload.data(), msg.payload.size()));
    const auto& trace = current_trace();
    if (!trace.trace_id.empty()) w.field("trace_id", trace.trace_id);
    w.end_object();
    const auto text = w.view();
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(service_); }

 private:
  std::string service_;
};

}  // namespace

Status init(std::string_view service, std::string_view level, Format format) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return make_error(ErrorCategory::invalid_input, "bad-log-level", "unknown log level: " + std::string(level));
  }
  // Not through spdlog's registry helpers: init may run again (tests) with the same name.
  auto logger = std::make_shared<spdlog::logger>(std::string(service), std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == Format::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>(std::string(service)));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [" + std::string(service) + "] %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace paypipe::core::log
