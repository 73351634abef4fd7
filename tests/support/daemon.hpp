#pragma once
// End-to-end harness: the daemons as real processes (build/bin/<service>) against the
// shared stack, each test in its own System (topic prefix and database schemas), so
// e2e tests never see each other's data.
//
//   testing::System system;                            // creates the topics under a fresh prefix
//   testing::Daemon api(system, "payment-api");        // spawns it on a free port
//   api.wait_ready();                                  // GET /readyz == 200, with a deadline
//   auto r = api.post("/v1/payments", body, {{"Idempotency-Key", "k"}});
//   api.kill();  api.start();                          // kill -9 and restart
//
// Logs go to build/test-logs/<prefix>/<service>.log. Every process is killed when its
// Daemon goes away.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/kafka.hpp"
#include "http/client.hpp"

namespace paypipe::testing {

class System {
 public:
  // Creates every topic of the system (events::all_topics) under a fresh prefix, named
  // by `naming` (PAYPIPE_NAMING_PROFILE, PAYPIPE_TOPIC_NAMES, ...; events/naming.hpp),
  // which every daemon of the system is given too.
  explicit System(int partitions = 3, std::map<std::string, std::string> naming = {});

  const std::string& prefix() const { return prefix_; }
  const events::KafkaOptions& kafka() const { return kafka_; }
  // The schema a service uses in this system.
  std::string schema(const std::string& service) const;
  // The environment a service needs here, plus `extra`.
  std::map<std::string, std::string> environment(const std::string& service,
                                                 const std::map<std::string, std::string>& extra = {}) const;
  const std::string& log_dir() const { return log_dir_; }

 private:
  std::string prefix_;
  std::string suffix_;
  std::string log_dir_;
  std::map<std::string, std::string> naming_;
  events::KafkaOptions kafka_;
};

class Daemon {
 public:
  Daemon(const System& system, std::string service, std::map<std::string, std::string> extra_env = {},
         std::vector<std::string> args = {});
  ~Daemon();  // SIGKILL if still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void start();
  // Polls GET /readyz until 200 (REQUIREs it within `timeout`).
  void wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGTERM and wait for the exit (REQUIREs it within `timeout`); returns the exit code.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill();     // SIGKILL, reaped
  void pause();    // SIGSTOP
  void resume();   // SIGCONT
  bool running();
  // How the process that running() last found ended: its exit code, or 128 + signal.
  std::optional<int> exit_code() const { return exit_code_; }

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "") const;
  const std::string& log_path() const { return log_path_; }
  // Resident set size in KiB (VmRSS), 0 if not running.
  long rss_kib() const;

  core::Result<http::ClientResponse> get(const std::string& path, std::vector<http::Header> headers = {});
  core::Result<http::ClientResponse> post(const std::string& path, const std::string& body,
                                          std::vector<http::Header> headers = {});
  core::Result<http::ClientResponse> request(const std::string& method, const std::string& path,
                                             const std::string& body, std::vector<http::Header> headers);

 private:
  std::string service_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> args_;
  std::string binary_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::unique_ptr<http::Client> client_;
};

// A free loopback TCP port (bound then released).
std::uint16_t free_port();
// The build tree (PAYPIPE_BUILD_DIR) and source tree (PAYPIPE_SOURCE_DIR).
std::string build_dir();
std::string source_dir();

}  // namespace paypipe::testing
