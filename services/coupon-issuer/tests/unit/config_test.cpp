#include "coupon_issuer/config.hpp"

#include <catch2/catch.hpp>

#include "coupon_issuer/http_api.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> required() {
  return {{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9"}, {"PAYPIPE_PG_DSN", "postgresql://localhost/paypipe"}};
}

}  // namespace

TEST_CASE("coupon-issuer's defaults: a 5 s acknowledgement deadline, batches of 1000, no admin token") {
  core::Env env(required());
  const auto c = coupon_issuer::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.issue_ack_timeout == 5000ms);
  CHECK(c.pending_batch_size == 256);
  CHECK(c.admin_token.empty());
  CHECK(c.consumer.batch_size == 1000);
  CHECK(c.consumer.consumer.group == "coupon-issuer");
  CHECK(c.consumer.consumer.topics == std::vector<std::string>{"coupon.requested"});
  CHECK(c.common.database.connect.schema == "coupon_issuer");
  CHECK(c.common.database.size == 4 + 2 + 2);
}

TEST_CASE("every coupon-issuer variable reaches its field, and the deadline reaches librdkafka") {
  auto vars = required();
  vars.insert({{"PAYPIPE_COUPON_ISSUE_ACK_TIMEOUT_MS", "1500"},
               {"PAYPIPE_COUPON_PENDING_BATCH_SIZE", "32"},
               {"PAYPIPE_CONSUMER_BATCH_SIZE", "250"},
               {"PAYPIPE_ADMIN_TOKEN", "s3cret"},
               {"PAYPIPE_PG_POOL_SIZE", "3"}});
  core::Env env(vars);
  const auto c = coupon_issuer::Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.issue_ack_timeout == 1500ms);
  CHECK(c.pending_batch_size == 32);
  CHECK(c.consumer.batch_size == 250);
  CHECK(c.admin_token == "s3cret");
  CHECK(c.common.database.size == 3);

  // The request producer fails a record Kafka has not acknowledged by the deadline.
  auto producer = coupon_issuer::open_request_producer(c);
  REQUIRE(producer.ok());
  CHECK((*producer)->config("message.timeout.ms") == "1500");
  CHECK((*producer)->config("acks") == "-1");
  CHECK((*producer)->config("enable.idempotence") == "true");
}

TEST_CASE("bad coupon-issuer values are named, the secret never echoed") {
  auto vars = required();
  vars.insert({{"PAYPIPE_COUPON_ISSUE_ACK_TIMEOUT_MS", "5"},
               {"PAYPIPE_COUPON_PENDING_BATCH_SIZE", "lots"},
               {"PAYPIPE_ADMIN_TOKEN", "do-not-print-me"},
               {"PAYPIPE_COUPON_ISSUE_TIMEOUT", "1"}});
  core::Env env(vars);
  (void)coupon_issuer::Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_COUPON_ISSUE_ACK_TIMEOUT_MS") != std::string::npos);
  CHECK(status.error().message.find("PAYPIPE_COUPON_PENDING_BATCH_SIZE") != std::string::npos);
  CHECK(status.error().message.find("PAYPIPE_COUPON_ISSUE_TIMEOUT") != std::string::npos);
  CHECK(status.error().message.find("do-not-print-me") == std::string::npos);
}

// How each PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variable is read is libs/auth's test;
// here, that coupon-issuer reads them, in its profile.
TEST_CASE("coupon-issuer reads the PAYPIPE_JWT_ and PAYPIPE_RATE_LIMIT_ variables, HS256 in the local profile only") {
  auto vars = required();
  vars.insert({{"PAYPIPE_JWT_HS256_SECRET", "a-local-secret-of-at-least-32-chars!"},
               {"PAYPIPE_JWT_ISSUER", "local"},
               {"PAYPIPE_JWT_AUDIENCE", "paypipe"},
               {"PAYPIPE_RATE_LIMIT_PER_USER", "5"}});
  core::Env production(vars);
  (void)coupon_issuer::Config::read(production);
  CHECK_FALSE(production.finish().ok());
  vars["PAYPIPE_PROFILE"] = "local";
  core::Env local(vars);
  const auto c = coupon_issuer::Config::read(local);
  REQUIRE(local.finish().ok());
  CHECK(c.auth.hs256_secret == "a-local-secret-of-at-least-32-chars!");
  CHECK(c.auth.audience == "paypipe");
  CHECK(c.rate_limit.per_second == 5);
}
