#pragma once
// What every daemon's main.cpp uses to start, serve its health endpoints and stop:
//
//   int main(int argc, char** argv) {
//     runtime::StopSignal stop;                     // first: later threads inherit the mask
//     auto env = core::Env::from_process();
//     auto config = my_service::Config::read(env);
//     runtime::start_logging(config.common, env);   // reports bad config and exits 2
//     ... runtime::common_subcommand(...) ...
//     return my_service::build_service(config, migrations)->run(stop);
//   }
//
// build_service() opens the parts with the helpers below (runtime::open_database,
// runtime::open_producer, ...) and declares them on a runtime::Service
// (runtime/service.hpp), which starts them, wires the probes and stops them.
// Start-up failures (database unreachable, bad Kafka settings, durability refused) are
// logged and end the process with code 1; Kubernetes restarts it.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/embedded.hpp"
#include "events/consumer_runtime.hpp"
#include "events/outbox.hpp"
#include "events/producer.hpp"
#include "http/router.hpp"
#include "pg/pool.hpp"
#include "runtime/config.hpp"

namespace paypipe::runtime {

// SIGTERM / SIGINT, or a fatal error reported from any thread.
class StopSignal {
 public:
  StopSignal();  // blocks SIGINT and SIGTERM in this thread and every thread it starts
  // Returns when a signal arrives or request_stop() is called; the value is the exit
  // code to use (0 for a signal).
  int wait();
  // From any thread: stop the process with `exit_code` (e.g. 70 after a fatal Kafka error).
  static void request_stop(int exit_code);
};

// Initialises the process (logging; at most two malloc arenas), logs `env`'s warnings
// (deprecated variables); if `env` holds configuration errors, prints them and exits 2.
void start_logging(const CommonConfig& config, const core::Env& env);

[[noreturn]] void fail_startup(std::string_view what, const core::Error& error);

template <typename T>
T must(core::Result<T> result, std::string_view what) {
  if (!result) fail_startup(what, result.error());
  return std::move(result).value();
}
inline void must(const core::Status& status, std::string_view what) {
  if (!status) fail_startup(what, status.error());
}

// The events library's tables (outbox, processed_events) followed by the service's own.
std::vector<core::EmbeddedFile> with_event_tables(std::span<const core::EmbeddedFile> service_migrations);

// Opens the pool and applies the migrations (serialised across replicas).
std::unique_ptr<pg::Pool> open_database(const CommonConfig& config, std::span<const core::EmbeddedFile> migrations);

// The idempotent producer; a fatal producer error stops the process with code 70.
std::unique_ptr<events::Producer> open_producer(const CommonConfig& config);

// Outside the local profile, refuses to run unless the producer has acks=all and
// idempotence and every topic in `topics` (logical names) has replication >= 3 and
// min.insync.replicas >= 2. The local profile logs a warning instead.
// A topic created a moment ago (the chart's hook Job, a harness) reaches every broker's
// metadata shortly after its creation was answered: outside the local profile, missing
// topics are looked for again for up to `topics_wait` before they count as missing.
core::Status check_durability(const CommonConfig& config, const events::Producer& producer,
                              const std::vector<std::string>& topics,
                              std::chrono::milliseconds topics_wait = std::chrono::seconds(30));

// A named set of checks answered as JSON: 200 when every check passes, 503 otherwise.
// Checks run on the HTTP worker that serves the probe; each must be quick and
// thread-safe. Add every check before the server starts.
class HealthChecks {
 public:
  void add(std::string name, std::function<core::Status()> check);
  http::Response respond() const;
  // The failing checks' names (empty when all pass): for tests and logs.
  std::vector<std::string> failing() const;

 protected:
  HealthChecks(std::string ok_word, std::string failed_word)
      : ok_word_(std::move(ok_word)), failed_word_(std::move(failed_word)) {}

 private:
  std::string ok_word_;
  std::string failed_word_;
  std::vector<std::pair<std::string, std::function<core::Status()>>> checks_;
};

// /readyz: can this replica serve its requests now? A failing check takes the pod out
// of its Service (no restart): a dependency its requests need is unreachable, or a
// consumer is waiting out an infrastructure error in place.
class Readiness : public HealthChecks {
 public:
  Readiness() : HealthChecks("ready", "not ready") {}
};

// /healthz: is this process still doing its work? A failing check makes Kubernetes
// restart the pod: a loop the daemon depends on has died, or is stuck (its heartbeat
// older than the watchdog bound). Never a dependency's outage: a restart cannot fix
// PostgreSQL or Kafka, and restarting every replica at once makes the outage worse.
class Liveness : public HealthChecks {
 public:
  Liveness() : HealthChecks("alive", "not alive") {}
};

// What a background loop tells the probes, from any thread.
struct LoopSignals {
  std::function<bool()> running;                                     // false: the loop ended
  std::function<std::chrono::steady_clock::time_point()> heartbeat;  // empty: no watchdog
  std::function<std::optional<core::Error>()> stalled_on;            // empty: never stalls
};

// Liveness "<name>": running, and a heartbeat younger than `stuck_after`.
// Readiness "<name>" (only when `stalled_on` is given): not waiting out an
// infrastructure error.
void watch_loop(Readiness& readiness, Liveness& liveness, const std::string& name, LoopSignals signals,
                std::chrono::milliseconds stuck_after);

// watch_loop for a consumer (running, last_poll, stalled_on) and for an outbox relay
// (running, heartbeat; its outage is PostgreSQL's, which the database check reports).
void watch_consumer(Readiness& readiness, Liveness& liveness, const events::ConsumerRuntime& consumer,
                    std::chrono::milliseconds stuck_after, const std::string& name = "consumer");
void watch_relay(Liveness& liveness, const events::OutboxRelay& relay, std::chrono::milliseconds stuck_after);

// Readiness "postgres": PostgreSQL reachable and every migration applied.
void add_database_check(Readiness& readiness, pg::Pool& pool, std::vector<core::EmbeddedFile> migrations);
// Readiness "kafka": the producer reaches a broker. Only for daemons whose requests
// need Kafka at once (coupon-issuer's issue route, dlq-retrier's replays); a daemon
// whose events wait in its outbox stays ready through a Kafka outage.
void add_kafka_check(Readiness& readiness, events::Producer& producer);

// add_database_check and add_kafka_check (the checks of a daemon that needs both).
void add_standard_checks(Readiness& readiness, pg::Pool& pool, std::vector<core::EmbeddedFile> migrations,
                         events::Producer& producer);

// GET /healthz (liveness), GET /readyz, GET /metrics (Prometheus text format, with
// paypipe_build_info registered). The HTTP server itself needs no check: when it stops
// answering, the probes fail.
void add_health_routes(http::Router& router, const Readiness& readiness, const Liveness& liveness);
// Without liveness checks: /healthz answers 200 while the process serves HTTP.
void add_health_routes(http::Router& router, const Readiness& readiness);

// Handles the subcommands every daemon has; nullopt means "serve":
//   migrate        apply the migrations and exit (the Helm hook)
//   check-config   validate the environment and exit
//   version        print the version and the git commit (runtime/build_info.hpp)
std::optional<int> common_subcommand(int argc, char** argv, const CommonConfig& config,
                                     std::span<const core::EmbeddedFile> migrations);

}  // namespace paypipe::runtime
