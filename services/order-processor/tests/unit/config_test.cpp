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
  for (const auto* name :
       {"PAYPIPE_ORDER_TTL_MS", "PAYPIPE_ORDER_EXPIRY_BATCH_SIZE", "PAYPIPE_CURRENCY", "PAYPIPE_ORDER_TLL_MS"}) {
    INFO(name);
    CHECK(message.find(name) != std::string::npos);
  }
  CHECK(message.find("do-not-print-me") == std::string::npos);
}

// How each PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variable is read is libs/auth's test;
// here, that order-processor reads them, in its profile.
TEST_CASE("order-processor reads the PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variables, HS256 in the local profile only") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_HS256_SECRET", "a-local-secret-of-at-least-32-chars!"},
               {"PAYPIPE_JWT_ISSUER", "local"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"},
               {"PAYPIPE_RATE_LIMIT_PER_USER", "5"}});
  core::Env production(vars);
  (void)order_processor::Config::read(production);
  CHECK_FALSE(production.finish().ok());
  vars["PAYPIPE_PROFILE"] = "local";
  core::Env local(vars);
  const auto c = order_processor::Config::read(local);
  REQUIRE(local.finish().ok());
  CHECK(c.auth.hs256_secret == "a-local-secret-of-at-least-32-chars!");
  CHECK(c.auth.audience == "paypipe");
  CHECK(c.rate_limit.per_second == 5);
}
