#include "runtime/daemon.hpp"

#include <malloc.h>

#include <fmt/ranges.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "events/admin.hpp"
#include "events/migrations.hpp"
#include "events/retry.hpp"
#include "http/server.hpp"
#include "pg/migrate.hpp"
#include "runtime/build_info.hpp"

namespace paypipe::runtime {

namespace {

std::atomic<int> requested_exit_code{0};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // request_stop()
  return set;
}

}  // namespace

StopSignal::StopSignal() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a peer closing a socket is an error code, not a crash
}

int StopSignal::wait() {
  const sigset_t set = stop_signals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  if (signal_number == SIGUSR1) {
    spdlog::warn("stopping after a fatal error (exit code {})", requested_exit_code.load());
    return requested_exit_code.load();
  }
  spdlog::info("received {}, stopping", strsignal(signal_number));
  return 0;
}

void StopSignal::request_stop(int exit_code) {
  requested_exit_code = exit_code;
  ::kill(::getpid(), SIGUSR1);
}

void start_logging(const CommonConfig& config, const core::Env& env) {
  // glibc gives each thread that allocates its own arena (up to 8 per core), and every
  // arena keeps freed memory: with a dozen worker threads that doubled payment-api's
  // resident memory under load. Two arenas are enough for two cores' worth of work.
  ::mallopt(M_ARENA_MAX, 2);
  (void)core::log::init(config.service, config.log_level,
                        config.log_json ? core::log::Format::json : core::log::Format::text);
  for (const auto& warning : env.warnings()) spdlog::warn("configuration: {}", warning);
  if (auto status = env.finish(); !status) {
    spdlog::critical("{}", status.error().message);
    std::fprintf(stderr, "%s: %s\n", config.service.c_str(), status.error().message.c_str());
    std::exit(2);
  }
}

void fail_startup(std::string_view what, const core::Error& error) {
  spdlog::critical("cannot start: {}: {}", what, error.message);
  spdlog::default_logger()->flush();
  std::exit(1);
}

std::vector<core::EmbeddedFile> with_event_tables(std::span<const core::EmbeddedFile> service_migrations) {
  const auto shared = events::migrations::embedded_files();
  std::vector<core::EmbeddedFile> all(shared.begin(), shared.end());
  all.insert(all.end(), service_migrations.begin(), service_migrations.end());
  return all;
}

std::unique_ptr<pg::Pool> open_database(const CommonConfig& config, std::span<const core::EmbeddedFile> migrations) {
  auto pool = std::make_unique<pg::Pool>(config.database);
  // PostgreSQL may still be starting (a pod next to it, a restart): wait up to 30 s.
  static const auto thirty_seconds = events::RetryPolicy::constant(30, std::chrono::seconds(1));
  auto lease = events::retry(
      thirty_seconds, events::never_stop(),
      [&] { return events::Attempt<pg::Pool::Lease>::again_on_any_error(pool->acquire()); },
      [](const events::RetryEvent& e) {
        spdlog::warn("PostgreSQL not reachable yet ({}), retrying", e.error.message);
      });
  if (!lease) fail_startup("PostgreSQL", lease.error());
  must(pg::migrate(**lease, config.database.connect.schema, migrations), "migrations");
  return pool;
}

std::unique_ptr<events::Producer> open_producer(const CommonConfig& config) {
  events::ProducerSettings settings;
  settings.on_fatal = [](const core::Error&) { StopSignal::request_stop(70); };
  return must(events::Producer::create(config.kafka, settings), "Kafka producer");
}

core::Status check_durability(const CommonConfig& config, const events::Producer& producer,
                              const std::vector<std::string>& topics, std::chrono::milliseconds topics_wait) {
  std::vector<std::string> problems;
  const auto acks = producer.config("acks");
  if (acks != "-1" && acks != "all") problems.push_back("producer acks=" + acks + " (needs all)");
  if (producer.config("enable.idempotence") != "true") problems.push_back("producer idempotence is off");

  auto admin = events::Admin::create(config.kafka);
  if (!admin) return admin.error();
  std::vector<std::string> names;
  for (const auto& t : topics) names.push_back(config.kafka.topic(t));
  const auto missing = [&names](const std::vector<events::TopicInfo>& infos) {
    std::vector<std::string> absent;
    for (const auto& name : names) {
      if (std::none_of(infos.begin(), infos.end(), [&](const auto& i) { return i.name == name; })) {
        absent.push_back(name);
      }
    }
    return absent;
  };

  // The local profile runs without the topics anyway: no reason to wait for them there.
  const auto wait = config.local_profile ? std::chrono::milliseconds(0) : topics_wait;
  const auto policy = wait.count() > 0 ? events::RetryPolicy::constant(0, std::chrono::milliseconds(500), wait)
                                       : events::RetryPolicy::none();
  std::vector<events::TopicInfo> infos;
  auto described = events::retry(
      policy, events::never_stop(),
      [&]() -> events::Attempt<void> {
        auto found = (*admin)->describe(names, std::chrono::milliseconds(5000));
        if (!found) return found.error();
        infos = std::move(*found);
        if (const auto absent = missing(infos); !absent.empty() && wait.count() > 0) {
          return events::Attempt<void>::again(core::make_error(core::ErrorCategory::unavailable, "topics-missing",
                                                               fmt::format("{}", fmt::join(absent, ", "))));
        }
        return core::Status{};
      },
      [](const events::RetryEvent& e) {
        if (e.attempt == 1) spdlog::warn("topics not known to the broker yet ({}), looking again", e.error.message);
      });
  if (!described && described.error().code != "topics-missing") return described.error();

  for (const auto& name : missing(infos)) {
    problems.push_back("topic " + name + " does not exist (run paypipe-admin topics create)");
  }
  for (const auto& info : infos) {
    if (info.replication < 3) {
      problems.push_back("topic " + info.name + " has replication " + std::to_string(info.replication));
    }
    if (info.min_insync < 2) {
      problems.push_back("topic " + info.name + " has min.insync.replicas " + std::to_string(info.min_insync));
    }
  }
  if (problems.empty()) return {};
  std::string message = "durability requirements not met:";
  for (const auto& p : problems) message += "\n  " + p;
  if (config.local_profile) {
    spdlog::warn("{} (local profile: running anyway)", message);
    return {};
  }
  return core::make_error(core::ErrorCategory::invalid_input, "durability", message);
}

void HealthChecks::add(std::string name, std::function<core::Status()> check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

http::Response HealthChecks::respond() const {
  core::json::Writer w;
  w.begin_object();
  bool passed = true;
  w.begin_object("checks");
  for (const auto& [name, check] : checks_) {
    const auto status = check();
    passed = passed && status.ok();
    w.field(name, status ? std::string("ok") : status.error().message);
  }
  w.end_object();
  w.field("status", passed ? ok_word_ : failed_word_);
  w.end_object();
  return http::Response::json(passed ? 200 : 503, w.take());
}

std::vector<std::string> HealthChecks::failing() const {
  std::vector<std::string> names;
  for (const auto& [name, check] : checks_) {
    if (!check()) names.push_back(name);
  }
  return names;
}

void watch_loop(Readiness& readiness, Liveness& liveness, const std::string& name, LoopSignals signals,
                std::chrono::milliseconds stuck_after) {
  liveness.add(name, [name, running = signals.running, heartbeat = signals.heartbeat, stuck_after]() -> core::Status {
    if (running && !running()) {
      return core::make_error(core::ErrorCategory::unavailable, name + "-stopped", "the " + name + " loop stopped");
    }
    if (heartbeat) {
      const auto age = std::chrono::steady_clock::now() - heartbeat();
      if (age > stuck_after) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(age).count();
        return core::make_error(core::ErrorCategory::unavailable, name + "-stuck",
                                "the " + name + " loop has not gone round for " + std::to_string(seconds) + " s");
      }
    }
    return {};
  });
  if (signals.stalled_on) {
    readiness.add(name, [name, stalled_on = signals.stalled_on]() -> core::Status {
      if (auto error = stalled_on()) {
        return core::make_error(core::ErrorCategory::unavailable, name + "-stalled",
                                "waiting out an infrastructure error: " + error->message);
      }
      return {};
    });
  }
}

void watch_consumer(Readiness& readiness, Liveness& liveness, const events::ConsumerRuntime& consumer,
                    std::chrono::milliseconds stuck_after, const std::string& name) {
  watch_loop(readiness, liveness, name,
             LoopSignals{[&consumer] { return consumer.running(); }, [&consumer] { return consumer.last_poll(); },
                         [&consumer] { return consumer.stalled_on(); }},
             stuck_after);
}

void watch_relay(Liveness& liveness, const events::OutboxRelay& relay, std::chrono::milliseconds stuck_after) {
  Readiness unused;  // the relay's outages are PostgreSQL's: the database check says so
  watch_loop(unused, liveness, "outbox-relay",
             LoopSignals{[&relay] { return relay.running(); }, [&relay] { return relay.heartbeat(); }, {}},
             stuck_after);
}

void add_database_check(Readiness& readiness, pg::Pool& pool, std::vector<core::EmbeddedFile> migrations) {
  readiness.add("postgres", [&pool, migrations = std::move(migrations)]() -> core::Status {
    // ping() replaces a connection that died with a restarted server before answering,
    // so a probe right after PostgreSQL returns already passes.
    if (auto alive = pool.ping(); !alive) return alive.error();
    auto lease = pool.acquire();
    if (!lease) return lease.error();
    auto applied = pg::migrations_applied(**lease, migrations);
    if (!applied) return applied.error();
    if (!*applied) return core::make_error(core::ErrorCategory::unavailable, "migrations", "migrations not applied");
    return {};
  });
}

void add_kafka_check(Readiness& readiness, events::Producer& producer) {
  readiness.add("kafka", [&producer]() -> core::Status {
    if (producer.failed()) return core::make_error(core::ErrorCategory::unavailable, "kafka", "producer failed");
    return producer.ping(std::chrono::milliseconds(2000));
  });
}

void add_standard_checks(Readiness& readiness, pg::Pool& pool, std::vector<core::EmbeddedFile> migrations,
                         events::Producer& producer) {
  add_database_check(readiness, pool, std::move(migrations));
  add_kafka_check(readiness, producer);
}

void add_health_routes(http::Router& router, const Readiness& readiness, const Liveness& liveness) {
  register_build_info();  // every daemon serves /metrics through here
  router.get("/healthz", [&liveness](const http::Request&) { return liveness.respond(); });
  router.get("/readyz", [&readiness](const http::Request&) { return readiness.respond(); });
  router.get("/metrics", [](const http::Request&) {
    return http::Response::text(200, core::metrics::serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

void add_health_routes(http::Router& router, const Readiness& readiness) {
  static const Liveness nothing_watched;
  add_health_routes(router, readiness, nothing_watched);
}

std::optional<int> common_subcommand(int argc, char** argv, const CommonConfig& config,
                                     std::span<const core::EmbeddedFile> migrations) {
  if (argc < 2) return std::nullopt;
  const std::string command = argv[1];
  if (command == "serve") return std::nullopt;
  if (command == "version") {
    std::cout << config.service << " " << build_info().version << " (commit " << build_info().commit << ")\n";
    return 0;
  }
  if (command == "check-config") {
    std::cout << "configuration OK\n";
    return 0;
  }
  if (command == "migrate") {
    auto connection = pg::Connection::connect(config.database.connect);
    if (!connection) fail_startup("PostgreSQL", connection.error());
    must(pg::migrate(*connection, config.database.connect.schema, migrations), "migrations");
    std::cout << "migrations applied to schema " << config.database.connect.schema << "\n";
    return 0;
  }
  return std::nullopt;  // the service may know it
}

}  // namespace paypipe::runtime
