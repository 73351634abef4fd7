#include "core/log.hpp"

#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "core/json.hpp"
#include "core/trace.hpp"

using namespace paypipe::core;  // log:: below is core::log

namespace {

// A logger of its own writing into a string, with the formatter init() installs.
struct Captured {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();

  explicit Captured(log::Format format)
      : logger(std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out))) {
    logger->set_formatter(log::make_formatter("test-service", format));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~Captured() { spdlog::set_default_logger(previous); }

  std::string take() {
    auto text = out.str();
    out.str("");
    return text;
  }
};

}  // namespace

TEST_CASE("json log lines carry scope and call-site fields as members, numbers as numbers") {
  Captured captured(log::Format::json);
  const TraceScope trace(*TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  {
    const log::Scope scope({{log::key::topic, "payments"}, {log::key::partition, 3}, {log::key::offset, 42L}});
    log::info({{log::key::order_id, "o-1"}, {log::key::partition, 4}}, "order {} done", "x");
  }
  const auto line = captured.take();
  REQUIRE(line.back() == '\n');
  REQUIRE(std::count(line.begin(), line.end(), '\n') == 1);
  auto doc = json::parse(line);
  REQUIRE(doc);
  const auto& v = *doc;
  CHECK(std::string(v["msg"].GetString()) == "order x done");
  CHECK(std::string(v["service"].GetString()) == "test-service");
  CHECK(std::string(v["topic"].GetString()) == "payments");
  CHECK(v["partition"].GetInt() == 4);  // the call site's value replaces the scope's, once
  CHECK(v["offset"].GetInt64() == 42);
  CHECK(std::string(v["order_id"].GetString()) == "o-1");
  CHECK(std::string(v["trace_id"].GetString()) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(std::string(v["span_id"].GetString()) == "00f067aa0ba902b7");
  CHECK(line.find("\"partition\":3") == std::string::npos);

  spdlog::info("outside");
  const auto after = captured.take();
  CHECK(after.find("topic") == std::string::npos);
  CHECK(log::current_fields().empty());
}

TEST_CASE("json log fields escape quotes, newlines and control characters") {
  Captured captured(log::Format::json);
  const std::string nasty = "a\"b\\c\nd\re\tf\x01g\x1f";
  log::warn({{log::key::event_id, nasty}, {"msg", "not a second msg"}}, "{}", nasty);
  const auto line = captured.take();
  REQUIRE(std::count(line.begin(), line.end(), '\n') == 1);
  auto doc = json::parse(line);
  REQUIRE(doc);
  const auto& v = *doc;
  CHECK(std::string(v["event_id"].GetString()) == nasty);
  CHECK(std::string(v["msg"].GetString()) == nasty);  // a reserved key is never duplicated
  CHECK(line.find("not a second msg") == std::string::npos);
}

TEST_CASE("text log lines append fields as key=value, quoted and escaped when needed") {
  Captured captured(log::Format::text);
  const log::Scope scope({{log::key::group, "order-processor"}, {log::key::offset, 7}});
  log::error({{log::key::event_type, "payment completed \"v1\"\n\x02"}, {log::key::order_id, ""}}, "failed");
  const auto line = captured.take();
  REQUIRE(std::count(line.begin(), line.end(), '\n') == 1);
  CHECK(line.find("[test-service] failed group=order-processor offset=7 "
                  "event_type=\"payment completed \\\"v1\\\"\\n\\u0002\" order_id=\"\"") != std::string::npos);
}

TEST_CASE("the level changes at run time and a bad name is refused") {
  Captured captured(log::Format::text);
  spdlog::default_logger()->set_level(spdlog::level::info);
  auto previous = log::set_level("debug");
  REQUIRE(previous);
  CHECK(*previous == "info");
  CHECK(spdlog::get_level() == spdlog::level::debug);
  CHECK(log::current_level() == "debug");
  CHECK(*log::set_level("warn") == "debug");
  CHECK(log::current_level() == "warn");
  CHECK_FALSE(log::set_level("loud"));
  CHECK(spdlog::get_level() == spdlog::level::warn);
}
