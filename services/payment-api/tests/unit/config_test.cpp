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
  // Past it, 503: each waiting request holds memory (docs/performance.md, payment-api memory).
  CHECK(c.queue_limit == 2048);
}

// How each PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variable is read is libs/auth's test;
// here, that payment-api reads them, in its profile.
TEST_CASE("payment-api reads the PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variables, HS256 in the local profile only") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_HS256_SECRET", "a-local-secret-of-at-least-32-chars!"},
               {"PAYPIPE_JWT_ISSUER", "local"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"},
               {"PAYPIPE_RATE_LIMIT_PER_USER", "5"}});
  core::Env production(vars);
  (void)payment_api::Config::read(production);
  CHECK_FALSE(production.finish().ok());
  vars["PAYPIPE_PROFILE"] = "local";
  core::Env local(vars);
  const auto c = payment_api::Config::read(local);
  REQUIRE(local.finish().ok());
  CHECK(c.auth.hs256_secret == "a-local-secret-of-at-least-32-chars!");
  CHECK(c.auth.audience == "paypipe");
  CHECK(c.rate_limit.per_second == 5);
}
