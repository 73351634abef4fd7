// Every service's OpenAPI (proto/http/*.yaml) checked against the daemon itself by
// schemathesis: generated requests, valid and invalid, a bounded number per operation
// and reproducible (derandomized). The checks: no 5xx, every status documented, the
// documented content type (problem+json for errors), and bodies that match the
// documented schemas. Each daemon runs as a process on the shared stack;
// notification-sender and data-platform-forwarder get the fakes. Every spec runs twice:
// authenticated, with a valid end-user JWT from the tests' identity provider (the
// daemons' admin token is set to that same string, so admin operations take it too and
// one header serves every operation), and unauthenticated, where every protected
// operation must answer its documented 401.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/time.hpp"
#include "fakes/fake_analytics.hpp"
#include "fakes/fake_telegram.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// The venv scripts/bootstrap.sh made: $(cache_dir)/schemathesis-<version> (scripts/lib.sh).
std::string schemathesis_binary() {
  std::string cache;
  if (const char* c = std::getenv("PAYPIPE_CACHE"); c && *c) {
    cache = c;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    cache = std::string(x) + "/paypipe";
  } else {
    const char* home = std::getenv("HOME");
    cache = std::string(home ? home : "/root") + "/.cache/paypipe";
  }
  return cache + "/schemathesis-" PAYPIPE_SCHEMATHESIS_VERSION "/bin/schemathesis";
}

struct Run {
  int exit_code = -1;
  std::string output;
};

Run run(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<std::string> env_strings{"PATH=/usr/bin:/bin",
                                       "HOME=" + std::filesystem::path(log_path).parent_path().string(),
                                       "SCHEMATHESIS_TELEMETRY=false", "NO_COLOR=1", "LANG=C.UTF-8"};
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = args;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // .hypothesis and friends land in the log directory, never in the source tree.
  posix_spawn_file_actions_addchdir_np(&actions, std::filesystem::path(log_path).parent_path().c_str());
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Run result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(log_path);
  result.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return result;
}

}  // namespace

TEST_CASE("every service answers as its OpenAPI says (schemathesis)") {
  const auto st = schemathesis_binary();
  if (!std::filesystem::exists(st)) {
    FAIL("schemathesis is not installed at " << st << ": run scripts/bootstrap.sh");
  }
  testing::FakeTelegram telegram;
  testing::FakeAnalytics analytics;
  testing::System system;
  // A token of user "schemathesis" for the whole run; generated paths naming other users
  // answer 404, bodies naming them 403, as documented.
  const std::string user_token = testing::Identity::shared().token("schemathesis", "", std::chrono::hours(2));
  const std::string& admin_token = user_token;
  // Writes are not rate-limited here, so generated requests reach the database (429 is
  // documented on every write and tested in tests/security).
  const std::map<std::string, std::string> admin{{"PAYPIPE_ADMIN_TOKEN", admin_token}};
  auto user_facing = admin;
  user_facing["PAYPIPE_RATE_LIMIT_PER_USER"] = "0";
  std::vector<std::pair<std::string, std::unique_ptr<testing::Daemon>>> daemons;
  auto add = [&](const std::string& service, std::map<std::string, std::string> env) {
    daemons.emplace_back(service, std::make_unique<testing::Daemon>(system, service, std::move(env)));
  };
  add("payment-api", user_facing);
  add("order-processor", user_facing);
  add("coupon-issuer", user_facing);
  add("dlq-retrier", admin);
  add("notification-sender",
      {{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()}, {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()}});
  add("data-platform-forwarder", {{"PAYPIPE_WEBHOOK_URL", analytics.url()}});
  add("ranking-updater", {});
  for (auto& [service, daemon] : daemons) daemon->wait_ready();

  // A product to order, so that generated orders sometimes reach the database.
  auto& orders = *daemons[1].second;
  auto product = orders.post(
      "/v1/products",
      R"({"productId":"st-1","name":"schemathesis","unitPrice":100,"totalStock":1000000,"saleOpensAt":")" +
          core::format_rfc3339(core::now_ms() - 1h) + "\"}",
      {{"Authorization", "Bearer " + admin_token}});
  REQUIRE(product.ok());
  REQUIRE(product->status == 201);

  const char* examples = std::getenv("PAYPIPE_SCHEMATHESIS_EXAMPLES");
  std::vector<std::pair<std::string, testing::Daemon*>> specs;
  for (auto& [service, daemon] : daemons) specs.emplace_back(service + ".yaml", daemon.get());
  specs.emplace_back("common.yaml", daemons[0].second.get());
  for (const auto& [spec, daemon] : specs) {
    for (const bool authenticated : {true, false}) {
      const std::string log = system.log_dir() + "/schemathesis-" + spec + (authenticated ? "" : ".anonymous") + ".log";
      const auto started = std::chrono::steady_clock::now();
      std::vector<std::string> args{
          st, "run", testing::source_dir() + "/proto/http/" + spec, "--base-url=" + daemon->url(),
          "--checks=not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance",
          "--data-generation-method=all",
                                    // Without a token every answer is a 401: fewer examples say as much.
          std::string("--hypothesis-max-examples=") + (examples ? examples : (authenticated ? "100" : "20")),
          "--hypothesis-derandomize", "--hypothesis-suppress-health-check=all", "--request-timeout=10000",
          "--no-color"};
      if (authenticated) args.push_back("--header=Authorization: Bearer " + user_token);
      const auto result = run(args, log);
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      INFO(spec << (authenticated ? " with a token" : " without a token") << " (" << seconds.count() << " s, log "
                << log << "):\n"
                << (result.output.size() > 20000 ? result.output.substr(result.output.size() - 20000) : result.output));
      CHECK(result.exit_code == 0);
      CHECK(daemon->running());
    }
  }
}
