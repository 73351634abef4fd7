#pragma once
// runtime::Service: a daemon as a list of parts, start steps and stop steps. A service's
// library builds one (e.g. order_processor::build_service(config)); its main.cpp reads the
// configuration, handles the subcommands and calls run(); tests build the same Service
// and call start() / stop().
//
//   auto service = std::make_unique<runtime::Service>(config.common);
//   auto& pool = service->own(runtime::open_database(config.common, migrations));
//   auto& relay = service->make<events::OutboxRelay>(...);
//   service->watch_relay(relay);                 // readiness and liveness wiring
//   api.add_routes(service->router());
//   service->add_start("outbox relay", [&relay] { relay.start(); });
//   service->add_stop_http(3);                   // the stop plan, in the order it runs
//   service->add_stop("outbox relay", [&relay] { relay.stop(); });
//
// start() runs the start steps in the order added, then starts the HTTP server (the
// router with the service's routes, /healthz, /readyz, /metrics and the admin routes
// of add_admin_routes) and logs
// "<service> listening on <address>:<port>". stop() runs the stop plan (StopPlan below)
// within config.shutdown_timeout. Parts are destroyed in the reverse order of adding.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "events/consumer_runtime.hpp"
#include "events/outbox.hpp"
#include "events/producer.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "runtime/config.hpp"
#include "runtime/daemon.hpp"

namespace paypipe::runtime {

// Steps run in order within one budget. The deadline is set once (now + budget) when
// run() begins; a timed step gets its share of what is left: remaining * share / (the
// shares of the timed steps not run yet), so time a quick step leaves over goes to the
// later ones and the last timed step gets all that is left. A step that overruns takes
// its time from the later steps, never all of it: each timed step gets at least
// `minimum` (a consumer still commits its offsets, the producer still tries a flush).
// Untimed steps (share 0: joining a thread, closing a client) run without a bound.
class StopPlan {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using TimedStep = std::function<void(std::chrono::milliseconds bound)>;

  void add(std::string name, unsigned share, TimedStep step);
  void add(std::string name, std::function<void()> step);

  void run(std::chrono::milliseconds budget, std::chrono::milliseconds minimum = std::chrono::milliseconds(250),
           const Clock& clock = std::chrono::steady_clock::now) const;

  std::vector<std::string> names() const;

 private:
  struct Step {
    std::string name;
    unsigned share = 0;
    TimedStep run;
  };
  std::vector<Step> steps_;
};

// The admin routes every daemon serves (proto/http/common.yaml), behind
// "Authorization: Bearer <PAYPIPE_ADMIN_TOKEN>" (401 without, 403 wrong or unset):
//   PUT /v1/admin/log-level {"level":"debug"} -> 200 {"previous":"info","level":"debug"}
void add_admin_routes(http::Router& router, std::string admin_token);

class Service {
 public:
  explicit Service(CommonConfig config);
  ~Service();  // stops what start() started, if stop() was not called
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Parts: owned by the service, destroyed in the reverse order of adding (after stop).
  template <typename T>
  T& own(std::unique_ptr<T> part) {
    T& reference = *part;
    parts_.push_back(std::shared_ptr<void>(std::move(part)));
    return reference;
  }
  template <typename T, typename... Args>
  T& make(Args&&... args) {
    return own(std::make_unique<T>(std::forward<Args>(args)...));
  }

  // Wiring: add every check and route before start().
  Readiness& readiness() { return readiness_; }
  Liveness& liveness() { return liveness_; }
  http::Router& router() { return router_; }
  void watch_consumer(const events::ConsumerRuntime& consumer, const std::string& name = "consumer");
  void watch_relay(const events::OutboxRelay& relay);

  // Start steps, in dependency order; the HTTP server starts after them all.
  // `step` returns core::Status, or nothing when it cannot fail.
  template <typename Step>
  void add_start(std::string name, Step step) {
    if constexpr (std::is_void_v<std::invoke_result_t<Step&>>) {
      start_steps_.emplace_back(std::move(name), [step = std::move(step)]() mutable {
        step();
        return core::Status{};
      });
    } else {
      start_steps_.emplace_back(std::move(name), std::move(step));
    }
  }
  // Appended to the "listening on" line, in parentheses (e.g. "days in Asia/Seoul").
  void set_listening_note(std::string note) { listening_note_ = std::move(note); }

  // The stop plan, in the order it runs (StopPlan). It also runs after a failed start,
  // so each step must be safe on a part that never started.
  void add_stop(std::string name, unsigned share, StopPlan::TimedStep step);
  void add_stop(std::string name, std::function<void()> step);
  // Stop answering HTTP, letting requests in flight finish within the step's bound.
  void add_stop_http(unsigned share);
  // Flush the producer within the step's bound; a failure is logged.
  void add_stop_flush(events::Producer& producer, unsigned share);

  // Runs the start steps and starts the HTTP server; the first failure is returned
  // (failed_step() names it) and leaves what started running for stop().
  core::Status start();
  const std::string& failed_step() const { return failed_step_; }
  // The HTTP server's bound port (after start()).
  std::uint16_t port() const;
  // Runs the stop plan once (later calls do nothing) and logs "<service> stopped".
  void stop();

  // start() (a failure ends the process with code 1, as fail_startup does), waits for
  // the stop signal, stop(); returns the signal's exit code.
  int run(StopSignal& stop_signal);

  const CommonConfig& config() const { return config_; }
  const StopPlan& stop_plan() const { return stop_plan_; }

 private:
  CommonConfig config_;
  std::vector<std::shared_ptr<void>> parts_;
  Readiness readiness_;
  Liveness liveness_;
  http::Router router_;
  std::vector<std::pair<std::string, std::function<core::Status()>>> start_steps_;
  std::string listening_note_;
  StopPlan stop_plan_;
  std::unique_ptr<http::Server> server_;
  std::string failed_step_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace paypipe::runtime
