#pragma once
// What every daemon's main.cpp uses to start, serve its health endpoints and stop:
//
//   int main(int argc, char** argv) {
//     runtime::StopSignal stop;                     // first: later threads inherit the mask
//     auto env = core::Env::from_process();
//     auto config = my_service::Config::read(env);
//     runtime::start_logging(config.common, env);   // reports bad config and exits 2
//     ... build the parts (runtime::open_database, runtime::open_producer, ...) ...
//     ... start them, then: const int code = stop.wait(); ... stop them in order ...
//   }
//
// Start-up failures (database unreachable, bad Kafka settings, durability refused) are
// logged and end the process with code 1; Kubernetes restarts it.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/embedded.hpp"
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

// Initialises the process (logging; at most two malloc arenas); if `env` holds
// configuration errors, prints them and exits 2.
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
core::Status check_durability(const CommonConfig& config, const events::Producer& producer,
                              const std::vector<std::string>& topics);

// /readyz: every check must pass.
class Readiness {
 public:
  void add(std::string name, std::function<core::Status()> check);
  http::Response respond() const;

 private:
  std::vector<std::pair<std::string, std::function<core::Status()>>> checks_;
};

// PostgreSQL reachable and every migration applied; Kafka reachable.
void add_standard_checks(Readiness& readiness, pg::Pool& pool, std::vector<core::EmbeddedFile> migrations,
                         events::Producer& producer);

// GET /healthz (alive), GET /readyz, GET /metrics (Prometheus text format, with
// paypipe_build_info registered).
void add_health_routes(http::Router& router, const Readiness& readiness);

// Handles the subcommands every daemon has; nullopt means "serve":
//   migrate        apply the migrations and exit (the Helm hook)
//   check-config   validate the environment and exit
//   version        print the version and the git commit (runtime/build_info.hpp)
std::optional<int> common_subcommand(int argc, char** argv, const CommonConfig& config,
                                     std::span<const core::EmbeddedFile> migrations);

// A daemon that only serves /healthz, /readyz and /metrics (with its schema migrated):
// the start of a service whose work is not built yet.
int serve_health_only(int argc, char** argv, const std::string& service,
                      std::span<const core::EmbeddedFile> service_migrations);

}  // namespace paypipe::runtime
