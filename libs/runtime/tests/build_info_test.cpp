#include "runtime/build_info.hpp"

#include "core/metrics.hpp"
#include "http/router.hpp"
#include "runtime/config.hpp"
#include "runtime/daemon.hpp"

#include <catch2/catch.hpp>

#include <iostream>
#include <regex>
#include <sstream>
#include <string>

using namespace paypipe;

namespace {
std::string build_info_series() {
  const auto& info = runtime::build_info();
  return "paypipe_build_info{commit=\"" + std::string(info.commit) + "\",version=\"" + std::string(info.version) +
         "\"} 1";
}
}  // namespace

// First in this file: the registry is process-wide, so this must run before anything
// registers the gauge directly. Every daemon (runtime::Service) serves /metrics through
// add_health_routes, which is what makes the gauge appear on every daemon.
TEST_CASE("GET /metrics of add_health_routes carries paypipe_build_info") {
  runtime::Readiness readiness;
  http::Router router;
  runtime::add_health_routes(router, readiness);
  const auto match = router.match("GET", "/metrics");
  REQUIRE(match.route != nullptr);
  const auto response = match.route->handler(http::Request{});
  CHECK(response.status == 200);
  CHECK(response.body.find(build_info_series()) != std::string::npos);
}

TEST_CASE("build info: CMake's project version and a commit id or unknown") {
  const auto& info = runtime::build_info();
  CHECK(info.version == PAYPIPE_EXPECTED_VERSION);
  const std::string commit(info.commit);
  CHECK((commit == "unknown" || std::regex_match(commit, std::regex("[0-9a-f]{12}"))));
}

TEST_CASE("paypipe_build_info is exported once, = 1, with version and commit labels") {
  runtime::register_build_info();
  runtime::register_build_info();  // a second daemon component registering: still one series
  const std::string text = core::metrics::serialize();
  const auto at = text.find(build_info_series());
  REQUIRE(at != std::string::npos);
  CHECK(text.find("paypipe_build_info{", at + 1) == std::string::npos);
}

TEST_CASE("`<daemon> version` prints the service, the version and the commit") {
  core::Env env(std::map<std::string, std::string>{{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "k:9092"},
                                                   {"PAYPIPE_PG_DSN", "postgresql://u@h/db"}});
  const auto config = runtime::CommonConfig::read(env, "payment-api");
  std::string arg0 = "payment-api", arg1 = "version";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  std::ostringstream out;
  auto* saved = std::cout.rdbuf(out.rdbuf());
  const auto code = runtime::common_subcommand(2, argv, config, {});
  std::cout.rdbuf(saved);
  REQUIRE(code == 0);
  const auto& info = runtime::build_info();
  CHECK(out.str() == "payment-api " + std::string(info.version) + " (commit " + std::string(info.commit) + ")\n");
}
