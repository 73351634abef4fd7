// paypipe-admin against the real broker with a consumer group from configuration
// (PAYPIPE_EXTRA_CONSUMER_GROUPS, events/naming.hpp): `topics create` creates the
// group's retry and dlq topics, under the naming's formats, and `acls print` grants
// the group's own principal what a consumer of ours gets. No code list names the group.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/admin.hpp"
#include "support/child_process.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

struct Run {
  int code = -1;
  std::string output;  // stdout and stderr
};

// paypipe-admin `args` with only `variables` and the test broker in its environment.
Run admin(const std::vector<std::string>& args, std::vector<std::string> variables) {
  std::vector<std::string> command{PAYPIPE_ADMIN};
  command.insert(command.end(), args.begin(), args.end());
  variables.push_back("PAYPIPE_KAFKA_BOOTSTRAP_SERVERS=" + testing::stack().kafka_bootstrap);
  const auto log = std::filesystem::temp_directory_path() / (testing::unique_name("admin") + ".log");
  const pid_t pid = testing::spawn_logged(command, variables, log.string(), false);
  int status = 0;
  if (!testing::eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 90s, 50ms)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::ostringstream output;
  output << std::ifstream(log).rdbuf();
  std::filesystem::remove(log);
  return {testing::exit_code_of(status), output.str()};
}

// Deletes the topics under `prefix` when the test ends, passed or not.
struct TopicsUnder {
  std::string prefix;
  ~TopicsUnder() {
    auto admin = events::Admin::create(testing::kafka_options(prefix));
    if (!admin) return;
    auto names = (*admin)->list_topics(10s);
    if (!names) return;
    std::vector<std::string> mine;
    std::copy_if(names->begin(), names->end(), std::back_inserter(mine),
                 [&](const std::string& n) { return n.starts_with(prefix); });
    if (!mine.empty()) (void)(*admin)->delete_topics(mine, 30s);
  }
};

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether the broker's metadata lists every topic of `wanted` (a topic just created
// reaches the metadata a moment after CreateTopics answers).
bool eventually_listed(const std::string& prefix, const std::vector<std::string>& wanted) {
  auto broker = events::Admin::create(testing::kafka_options(prefix));
  if (!broker) return false;
  return testing::eventually(
      [&] {
        auto names = (*broker)->list_topics(10s);
        return names && std::all_of(wanted.begin(), wanted.end(),
                                    [&](const std::string& t) { return contains(*names, prefix + t); });
      },
      30s, 100ms);
}

}  // namespace

TEST_CASE("topics create makes a configured consumer group's retry and dlq topics, and acls grant its principal") {
  const TopicsUnder topics{testing::unique_name("admin") + "."};
  const auto& prefix = topics.prefix;
  const std::vector<std::string> variables = {"PAYPIPE_TOPIC_PREFIX=" + prefix,
                                              "PAYPIPE_EXTRA_CONSUMER_GROUPS=email-sender=payment.completed"};

  const auto created = admin({"topics", "create", "--partitions", "1", "--replication", "1"}, variables);
  INFO(created.output);
  REQUIRE(created.code == 0);
  CHECK(created.output.find("  " + prefix + "retry.email-sender\n") != std::string::npos);
  CHECK(created.output.find("  " + prefix + "dlq.email-sender\n") != std::string::npos);
  CHECK(eventually_listed(prefix, {"retry.email-sender", "dlq.email-sender", "dlq.notification-sender"}));

  // Run again (every upgrade does): nothing left to create.
  const auto again = admin({"topics", "create", "--partitions", "1", "--replication", "1"}, variables);
  CHECK(again.code == 0);
  CHECK(again.output.find("created 0 topic(s)") != std::string::npos);

  const auto acls = admin({"acls", "print"}, variables);
  INFO(acls.output);
  REQUIRE(acls.code == 0);
  const std::string mailer = "User:paypipe-email-sender ALLOW ";
  for (const auto& line : {mailer + "READ TOPIC(LITERAL) " + prefix + "payment.completed",
                           mailer + "READ GROUP(LITERAL) " + prefix + "email-sender",
                           mailer + "READ TOPIC(LITERAL) " + prefix + "retry.email-sender",
                           mailer + "WRITE TOPIC(LITERAL) " + prefix + "dlq.email-sender"}) {
    CHECK(acls.output.find(line + "\n") != std::string::npos);
  }
  CHECK(acls.output.find(mailer + "WRITE TOPIC(LITERAL) " + prefix + "payment.completed\n") == std::string::npos);
}

TEST_CASE("under the spring names a configured group's topics follow the formats and its own name") {
  const TopicsUnder topics{testing::unique_name("admin") + "."};
  const auto& prefix = topics.prefix;
  const auto created = admin(
      {"topics", "create", "--partitions", "1", "--replication", "1"},
      {"PAYPIPE_TOPIC_PREFIX=" + prefix, "PAYPIPE_NAMING_PROFILE=spring",
       "PAYPIPE_EXTRA_CONSUMER_GROUPS=email-sender=payment.completed", "PAYPIPE_GROUP_NAMES=email-sender=email-group"});
  INFO(created.output);
  REQUIRE(created.code == 0);
  CHECK(eventually_listed(prefix, {"email-group.RETRY", "email-group.DLQ", "payment-notification.DLQ"}));
  CHECK(created.output.find(prefix + "dlq.email-sender") == std::string::npos);
}

TEST_CASE("a configured group that is one of ours is refused before anything is created") {
  const auto refused = admin({"topics", "create"},
                             {"PAYPIPE_TOPIC_PREFIX=" + testing::unique_name("admin") + ".",
                              "PAYPIPE_EXTRA_CONSUMER_GROUPS=notification-sender=payment.failed"});
  INFO(refused.output);
  CHECK(refused.code == 2);
  CHECK(refused.output.find("PAYPIPE_EXTRA_CONSUMER_GROUPS") != std::string::npos);
}
