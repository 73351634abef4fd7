#include "runtime/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

#include "core/json.hpp"
#include "core/log.hpp"

namespace paypipe::runtime {

void add_admin_routes(http::Router& router, std::string admin_token) {
  router.add("PUT", "/v1/admin/log-level", [token = std::move(admin_token)](const http::Request& request) {
    if (auto allowed = http::require_bearer(request, token); !allowed) return http::error_response(allowed.error());
    auto body = http::json_body(request);
    if (!body) return http::error_response(body.error());
    if (!body->IsObject()) {
      return http::error_response(
          core::make_error(core::ErrorCategory::invalid_input, "invalid-body", "the body must be a JSON object"));
    }
    core::json::Reader reader(*body);
    const auto wanted = reader.one_of("level", {"trace", "debug", "info", "warn", "error", "critical", "off"});
    if (auto status = reader.status(); !status) return http::error_response(status.error());
    auto previous = core::log::set_level(wanted);
    if (!previous) return http::error_response(previous.error());
    // At warn, so the change shows at every level but off.
    spdlog::warn("log level changed from {} to {} through the admin route", *previous, wanted);
    core::json::Writer w;
    w.begin_object().field("previous", *previous).field("level", wanted).end_object();
    return http::Response::json(200, w.take());
  });
}

void StopPlan::add(std::string name, unsigned share, TimedStep step) {
  steps_.push_back({std::move(name), share, std::move(step)});
}

void StopPlan::add(std::string name, std::function<void()> step) {
  steps_.push_back({std::move(name), 0, [step = std::move(step)](std::chrono::milliseconds) { step(); }});
}

void StopPlan::run(std::chrono::milliseconds budget, std::chrono::milliseconds minimum, const Clock& clock) const {
  const auto deadline = clock() + budget;
  unsigned shares_left = 0;
  for (const auto& step : steps_) shares_left += step.share;
  for (const auto& step : steps_) {
    if (step.share == 0) {
      step.run(std::chrono::milliseconds::zero());
      continue;
    }
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock());
    const auto bound = std::max(minimum, remaining * step.share / shares_left);
    shares_left -= step.share;
    step.run(bound);
  }
}

std::vector<std::string> StopPlan::names() const {
  std::vector<std::string> names;
  for (const auto& step : steps_) names.push_back(step.name);
  return names;
}

Service::Service(CommonConfig config) : config_(std::move(config)) {}

Service::~Service() {
  if (started_) stop();
  server_.reset();  // its routes use the parts
  while (!parts_.empty()) parts_.pop_back();
}

void Service::watch_consumer(const events::ConsumerRuntime& consumer, const std::string& name) {
  runtime::watch_consumer(readiness_, liveness_, consumer, config_.watchdog_timeout, name);
}

void Service::watch_relay(const events::OutboxRelay& relay) {
  runtime::watch_relay(liveness_, relay, config_.watchdog_timeout);
}

void Service::add_stop(std::string name, unsigned share, StopPlan::TimedStep step) {
  stop_plan_.add(std::move(name), share, std::move(step));
}

void Service::add_stop(std::string name, std::function<void()> step) {
  stop_plan_.add(std::move(name), std::move(step));
}

void Service::add_stop_http(unsigned share) {
  add_stop("HTTP server", share, [this](std::chrono::milliseconds bound) {
    if (server_) server_->stop(bound);
  });
}

void Service::add_stop_flush(events::Producer& producer, unsigned share) {
  add_stop("producer flush", share, [&producer](std::chrono::milliseconds bound) {
    if (auto status = producer.flush(bound); !status) spdlog::warn("producer flush: {}", status.error().message);
  });
}

core::Status Service::start() {
  started_ = true;
  for (const auto& [name, step] : start_steps_) {
    if (auto status = step(); !status) {
      failed_step_ = name;
      return status;
    }
  }
  add_health_routes(router_, readiness_, liveness_);
  add_admin_routes(router_, config_.admin_token);
  server_ = std::make_unique<http::Server>(config_.http, std::move(router_));
  if (auto status = server_->start(); !status) {
    failed_step_ = "HTTP server";
    return status;
  }
  const auto note = listening_note_.empty() ? std::string() : " (" + listening_note_ + ")";
  spdlog::info("{} listening on {}:{}{}", config_.service, config_.http.address, server_->port(), note);
  return {};
}

std::uint16_t Service::port() const { return server_ ? server_->port() : 0; }

void Service::stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_plan_.run(config_.shutdown_timeout);
  spdlog::info("{} stopped", config_.service);
}

int Service::run(StopSignal& stop_signal) {
  if (auto status = start(); !status) fail_startup(failed_step_, status.error());
  const int exit_code = stop_signal.wait();
  stop();
  return exit_code;
}

}  // namespace paypipe::runtime
