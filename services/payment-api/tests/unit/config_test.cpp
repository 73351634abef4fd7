#include "payment_api/config.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;

namespace {

std::map<std::string, std::string> required() {
  return {{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"}, {"PAYPIPE_PG_DSN", "postgresql://localhost/paypipe"}};
}

}  // namespace

TEST_CASE("payment-api's defaults: no admin token, no keys (every end-user call refused), 20 writes/s per user") {
  core::Env env(required());
  const auto c = payment_api::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.admin_token.empty());
  CHECK_FALSE(c.auth.configured());
  CHECK(c.rate_limit.per_second == 20);
  CHECK(c.rate_limit.burst == 40);
  CHECK(c.batch_size == 64);
}

TEST_CASE("payment-api: the PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variables reach their fields") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_JWKS_FILE", "/etc/paypipe/jwks/jwks.json"},
               {"PAYPIPE_JWT_ISSUER", "https://id.example.com"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"},
               {"PAYPIPE_JWT_LEEWAY_SECONDS", "10"},
               {"PAYPIPE_RATE_LIMIT_PER_USER", "5"},
               {"PAYPIPE_RATE_LIMIT_BURST", "9"}});
  core::Env env(vars);
  const auto c = payment_api::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.auth.jwks_file == "/etc/paypipe/jwks/jwks.json");
  CHECK(c.auth.issuer == "https://id.example.com");
  CHECK(c.auth.audience == "paypipe");
  CHECK(c.auth.leeway == std::chrono::seconds(10));
  CHECK(c.rate_limit.per_second == 5);
  CHECK(c.rate_limit.burst == 9);
}

TEST_CASE("payment-api: an HS256 secret is refused outside the local profile, and never printed") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_HS256_SECRET", "a-local-secret-of-at-least-32-chars!"},
               {"PAYPIPE_JWT_ISSUER", "local"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"}});
  core::Env production(vars);
  (void)payment_api::Config::read(production);
  const auto refused = production.finish();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("PAYPIPE_JWT_HS256_SECRET") != std::string::npos);
  CHECK(refused.error().message.find("a-local-secret") == std::string::npos);
  vars["PAYPIPE_PROFILE"] = "local";
  core::Env local(vars);
  const auto c = payment_api::Config::read(local);
  REQUIRE(local.finish().ok());
  CHECK(c.auth.hs256_secret == "a-local-secret-of-at-least-32-chars!");
}
