#include "order_processor/config.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> required() {
  return {{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"}, {"PAYPIPE_PG_DSN", "postgresql://localhost/paypipe"}};
}

}  // namespace

TEST_CASE("order-processor's defaults: 10 minute orders, a sweep every second, no admin token") {
  core::Env env(required());
  const auto c = order_processor::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.order_ttl == 600000ms);
  CHECK(c.expiry.interval == 1000ms);
  CHECK(c.expiry.grace == 30000ms);
  CHECK(c.expiry.batch_size == 500);
  CHECK(c.currency == "KRW");
  CHECK(c.admin_token.empty());
  CHECK(c.consumer.consumer.group == "order-processor");
  CHECK(c.consumer.consumer.topics ==
        std::vector<std::string>{"payment.completed", "payment.failed", "payment.refunded"});
  CHECK(c.common.database.connect.schema == "order_processor");
  CHECK(c.batch_size == 64);
  CHECK(c.workers == 4);
  CHECK(c.common.database.size == 4 + 4 + 3);
}

TEST_CASE("every PAYPIPE_ORDER_ variable and the admin token reach their field") {
  auto vars = required();
  vars.insert({{"PAYPIPE_ORDER_TTL_MS", "1500"},
               {"PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS", "0"},
               {"PAYPIPE_ORDER_EXPIRY_GRACE_MS", "250"},
               {"PAYPIPE_ORDER_EXPIRY_BATCH_SIZE", "7"},
               {"PAYPIPE_CURRENCY", "USD"},
               {"PAYPIPE_ORDER_BATCH_SIZE", "1"},
               {"PAYPIPE_ORDER_BATCH_LINGER_US", "500"},
               {"PAYPIPE_ORDER_WORKERS", "2"},
               {"PAYPIPE_ORDER_QUEUE_LIMIT", "10"},
               {"PAYPIPE_ADMIN_TOKEN", "s3cret"},
               {"PAYPIPE_PG_POOL_SIZE", "12"}});
  core::Env env(vars);
  const auto c = order_processor::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.order_ttl == 1500ms);
  CHECK(c.expiry.interval == 0ms);
  CHECK(c.expiry.grace == 250ms);
  CHECK(c.expiry.batch_size == 7);
  CHECK(c.currency == "USD");
  CHECK(c.batch_size == 1);
  CHECK(c.batch_linger == 500us);
  CHECK(c.workers == 2);
  CHECK(c.queue_limit == 10);
  CHECK(c.admin_token == "s3cret");
  CHECK(c.common.database.size == 12);
}

TEST_CASE("bad values and typos are all reported by name, and the token never") {
  auto vars = required();
  vars.insert({{"PAYPIPE_ORDER_TTL_MS", "soon"},
               {"PAYPIPE_ORDER_EXPIRY_BATCH_SIZE", "0"},
               {"PAYPIPE_CURRENCY", "won"},
               {"PAYPIPE_ORDER_TLL_MS", "1000"},
               {"PAYPIPE_ADMIN_TOKEN", "do-not-print-me"}});
  core::Env env(vars);
  (void)order_processor::Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& message = status.error().message;
  for (const auto* name : {"PAYPIPE_ORDER_TTL_MS", "PAYPIPE_ORDER_EXPIRY_BATCH_SIZE", "PAYPIPE_CURRENCY",
                           "PAYPIPE_ORDER_TLL_MS"}) {
    INFO(name);
    CHECK(message.find(name) != std::string::npos);
  }
  CHECK(message.find("do-not-print-me") == std::string::npos);
}

TEST_CASE("order-processor: the PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variables reach their fields") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_JWKS_FILE", "/etc/paypipe/jwks/jwks.json"},
               {"PAYPIPE_JWT_ISSUER", "https://id.example.com"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"},
               {"PAYPIPE_JWT_LEEWAY_SECONDS", "10"},
               {"PAYPIPE_RATE_LIMIT_PER_USER", "5"},
               {"PAYPIPE_RATE_LIMIT_BURST", "9"}});
  core::Env env(vars);
  const auto c = order_processor::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.auth.jwks_file == "/etc/paypipe/jwks/jwks.json");
  CHECK(c.auth.issuer == "https://id.example.com");
  CHECK(c.auth.audience == "paypipe");
  CHECK(c.auth.leeway == std::chrono::seconds(10));
  CHECK(c.rate_limit.per_second == 5);
  CHECK(c.rate_limit.burst == 9);
}

TEST_CASE("order-processor: an HS256 secret is refused outside the local profile, and never printed") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_HS256_SECRET", "a-local-secret-of-at-least-32-chars!"},
               {"PAYPIPE_JWT_ISSUER", "local"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"}});
  core::Env production(vars);
  (void)order_processor::Config::read(production);
  const auto refused = production.finish();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("PAYPIPE_JWT_HS256_SECRET") != std::string::npos);
  CHECK(refused.error().message.find("a-local-secret") == std::string::npos);
  vars["PAYPIPE_PROFILE"] = "local";
  core::Env local(vars);
  const auto c = order_processor::Config::read(local);
  REQUIRE(local.finish().ok());
  CHECK(c.auth.hs256_secret == "a-local-secret-of-at-least-32-chars!");
}
