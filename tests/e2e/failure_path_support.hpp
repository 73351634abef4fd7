#pragma once
// Shared by the failure-path e2e tests (failure_path_*.cpp): dlq-retrier's environment,
// dead letters written as the consumer runtime writes them, a reader that collects what
// reaches a topic (read_committed, like every consumer of ours), the dlq-retrier CLI run
// as a process, and the parked records seen through the HTTP API.

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/consumer.hpp"
#include "events/dead_letter.hpp"
#include "events/producer.hpp"
#include "support/daemon.hpp"
#include "support/stack.hpp"

namespace paypipe::testing::failure_path {

inline const std::string admin_token = "e2e-admin-token";
inline std::vector<http::Header> admin() { return {{"Authorization", "Bearer " + admin_token}}; }

// dlq-retrier with a short schedule: `delay_ms` before each of 2 re-deliveries (3 deliveries in all).
inline std::map<std::string, std::string> retrier_env(int delay_ms, std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"PAYPIPE_ADMIN_TOKEN", admin_token},
                                         {"PAYPIPE_RETRIER_INTERVAL_MS", std::to_string(delay_ms)},
                                         {"PAYPIPE_RETRIER_MAX_RETRIES", "2"},
                                         {"PAYPIPE_KAFKA_PROPERTIES", "topic.metadata.refresh.interval.ms=1000"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

// A dead letter of `group` for a record of payment.completed that failed on delivery
// `attempt` at `failed_at`, written as events::ConsumerRuntime writes it.
inline events::OutgoingRecord dead_letter(const System& system, const std::string& group, const std::string& key,
                                          int attempt, core::SystemTime failed_at,
                                          events::Outcome outcome = events::Outcome::retry("paypipe.test.Down",
                                                                                           "down")) {
  events::ConsumedRecord original;
  original.topic = system.kafka().topic("payment.completed");
  original.partition = 0;
  original.offset = 1;
  original.timestamp_ms = core::to_unix_ms(failed_at);
  original.key = key;
  original.value = R"({"key":")" + key + R"("})";
  original.headers = {{"ce_id", core::new_uuid_v7()}, {"ce_type", "payment.completed"}};
  if (attempt > 1) original.headers.push_back({"attempt", std::to_string(attempt)});
  return events::dead_letter_record(original, outcome, group, system.kafka().topic(events::dlq_topic(group)), attempt,
                                    failed_at);
}

inline std::string header_of(const events::ConsumedRecord& record, const char* name) {
  const auto* value = events::find_header(record.headers, name);
  return value ? *value : std::string();
}

// Collects the records of one topic (full name) as they arrive.
class TopicReader {
 public:
  TopicReader(const events::KafkaOptions& options, const std::string& full_topic) {
    events::KafkaOptions reader = options;
    reader.topic_prefix.clear();
    events::ConsumerSettings settings;
    settings.group = unique_name("reader");
    settings.topics = {full_topic};
    consumer_ = events::KafkaConsumer::create(reader, settings, nullptr).value();
    REQUIRE(consumer_->subscribe().ok());
    // Joined before the test goes on, so that it sees records as they come, not in a
    // burst after its group join.
    REQUIRE(eventually(
        [&] {
          if (auto r = consumer_->poll(std::chrono::milliseconds(50))) seen_.push_back(std::move(*r));
          return !consumer_->assignment().empty();
        },
        std::chrono::seconds(30), std::chrono::milliseconds(0)));
  }

  // Polls until `count` records were seen in all, or `duration` passed.
  const std::vector<events::ConsumedRecord>& poll_for(std::chrono::milliseconds duration,
                                                      std::size_t count = SIZE_MAX) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (seen_.size() < count && std::chrono::steady_clock::now() < deadline) {
      if (auto r = consumer_->poll(std::chrono::milliseconds(50))) seen_.push_back(std::move(*r));
    }
    return seen_;
  }

 private:
  std::unique_ptr<events::KafkaConsumer> consumer_;
  std::vector<events::ConsumedRecord> seen_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;
};

// Runs `dlq-retrier <args>` with dlq-retrier's environment in `system`, as
// `kubectl exec deploy/dlq-retrier -- dlq-retrier ...` would in the pod.
inline CliResult run_cli(const System& system, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& extra_env = retrier_env(1000)) {
  const std::string binary = build_dir() + "/bin/dlq-retrier";
  std::vector<std::string> env_strings{"PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : system.environment("dlq-retrier", extra_env)) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings{binary};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (system.log_dir() + "/dlq-retrier-cli.log").c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  REQUIRE(rc == 0);
  CliResult result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    result.out.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline core::json::Document json_of(const std::string& body) {
  auto doc = core::json::parse(body);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

// The parked records of `group` (PARKED ones unless `status` says otherwise), through the API.
inline core::json::Document parked(Daemon& retrier, const std::string& group, const std::string& status = "PARKED") {
  auto r = retrier.get("/v1/parked?group=" + group + "&status=" + status + "&limit=500", admin());
  REQUIRE(r.ok());
  REQUIRE(r->status == 200);
  return json_of(r->body);
}

inline std::size_t parked_count(Daemon& retrier, const std::string& group, const std::string& status = "PARKED") {
  return parked(retrier, group, status)["items"].Size();
}

}  // namespace paypipe::testing::failure_path
