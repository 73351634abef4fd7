#pragma once
// Programs run as child processes by the tests: the daemons (support/daemon.hpp) and
// tools that are not ours (the interop tests' JVMs: Kafka Connect, the Spring program).
//
//   testing::ChildProcess connect({"java", "-cp", jars, "Main"}, log_path);
//   REQUIRE(eventually([&] { return ...; }, 60s));
//   connect.stop(10s);                          // SIGTERM, SIGKILL after 10 s
//
// A ChildProcess still running when it goes away is killed (SIGKILL) and reaped.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace paypipe::testing {

// Starts args[0] (looked up in PATH unless it holds a slash) with `env` ("NAME=value"
// each; nullopt: this process's environment) and no blocked signals, stdout and stderr
// to `log` (appended to, or truncated first). FAILs the test if it cannot start.
pid_t spawn_logged(const std::vector<std::string>& args, const std::optional<std::vector<std::string>>& env,
                   const std::string& log, bool append);

// How a reaped child ended: its exit code, or 128 + the signal that ended it.
int exit_code_of(int wait_status);

class ChildProcess {
 public:
  // With this process's environment; `log` is truncated first.
  ChildProcess(std::vector<std::string> args, const std::string& log);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running();
  // Waits for its end, killing it (SIGKILL) after `limit`; its exit code (exit_code_of).
  int wait(std::chrono::milliseconds limit);
  // SIGTERM, then SIGKILL after `grace`; its exit code (exit_code_of).
  int stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace paypipe::testing
