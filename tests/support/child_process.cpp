#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

extern char** environ;

namespace paypipe::testing {

namespace {

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

pid_t spawn_logged(const std::vector<std::string>& args, const std::optional<std::vector<std::string>>& env,
                   const std::string& log, bool append) {
  std::vector<std::string> arg_strings = args;
  auto argv = pointers(arg_strings);
  std::vector<std::string> env_strings = env.value_or(std::vector<std::string>{});
  auto envp = pointers(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // The test runner may block signals in its threads; the child must see SIGTERM.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args.at(0).c_str(), &actions, &attributes, argv.data(),
                              env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) FAIL("cannot start " << args.at(0) << ": " << std::strerror(rc));
  return pid;
}

int exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

ChildProcess::ChildProcess(std::vector<std::string> args, const std::string& log)
    : pid_(spawn_logged(args, std::nullopt, log, false)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) wait(std::chrono::milliseconds(0));
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
  pid_ = -1;
  exit_code_ = exit_code_of(status);
  return false;
}

int ChildProcess::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      exit_code_ = exit_code_of(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return exit_code_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  return wait(grace);
}

}  // namespace paypipe::testing
