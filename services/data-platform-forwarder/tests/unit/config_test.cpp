#include "data_platform_forwarder/config.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::data_platform_forwarder;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> base(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> v{{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"},
                                       {"PAYPIPE_PG_DSN", "postgresql://localhost/paypipe"},
                                       {"PAYPIPE_WEBHOOK_URL", "https://analytics.example.com/hook"}};
  for (auto& [k, value] : extra) v[k] = value;
  return v;
}

}  // namespace

TEST_CASE("the forwarder's defaults: retries 1 s, 2 s, 4 s, 8 s, then the dead letter") {
  core::Env env(base());
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.webhook.url == "https://analytics.example.com/hook");
  CHECK(c.webhook.authorization.empty());
  CHECK(c.webhook.timeout == 10000ms);
  CHECK(c.webhook.max_retry_after == 300000ms);
  CHECK(c.claims.lease == 25000ms);  // 2 x the timeout + 5 s
  CHECK(!c.claims.owner.empty());
  CHECK(c.consumer.consumer.group == "data-platform-forwarder");
  CHECK(c.consumer.consumer.topics ==
        std::vector<std::string>{"payment.completed", "order.completed", "order.refunded"});
  CHECK(c.consumer.retry.max_retries() == 4);  // ExponentialBackOffWithMaxRetries(4): 5 tries in all
  CHECK(c.consumer.retry.max_attempts == 5);
  CHECK(c.consumer.retry.delay(1) == 1000ms);
  CHECK(c.consumer.retry.delay(2) == 2000ms);
  CHECK(c.consumer.retry.delay(3) == 4000ms);
  CHECK(c.consumer.retry.delay(4) == 8000ms);
  CHECK(c.consumer.max_in_flight == 256);
  CHECK(c.client_options().max_idle_per_host == 256);
}

TEST_CASE("every forwarder variable reaches its field; tests can use milliseconds") {
  core::Env env(base({{"PAYPIPE_WEBHOOK_AUTHORIZATION", "Bearer abc"},
                      {"PAYPIPE_WEBHOOK_TIMEOUT_MS", "300"},
                      {"PAYPIPE_WEBHOOK_CONNECT_TIMEOUT_MS", "200"},
                      {"PAYPIPE_WEBHOOK_MAX_RETRY_AFTER_MS", "20000"},
                      {"PAYPIPE_FORWARDER_CLAIM_LEASE_MS", "5000"},
                      {"PAYPIPE_FORWARDER_DB_WORKERS", "1"},
                      {"PAYPIPE_FORWARDER_DB_BATCH_SIZE", "32"},
                      {"PAYPIPE_RETRY_INTERVAL_MS", "10"},
                      {"PAYPIPE_RETRY_MAX_INTERVAL_MS", "80"},
                      {"PAYPIPE_CONSUMER_MAX_IN_FLIGHT", "64"}}));
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.webhook.authorization == "Bearer abc");
  CHECK(c.webhook.timeout == 300ms);
  CHECK(c.webhook.max_retry_after == 20000ms);
  CHECK(c.claims.lease == 5000ms);
  CHECK(c.client_options().request_timeout == 300ms);
  CHECK(c.client_options().connect_timeout == 200ms);
  CHECK(c.claims.db_workers == 1);
  CHECK(c.claims.db_batch_size == 32);
  CHECK(c.consumer.retry.delay(1) == 10ms);
  CHECK(c.consumer.retry.delay(4) == 80ms);
  CHECK(c.consumer.max_in_flight == 64);
}

TEST_CASE("a missing or odd webhook URL is named, the authorization never echoed") {
  auto values = base({{"PAYPIPE_WEBHOOK_AUTHORIZATION", "Bearer top\nsecret"}});
  values.erase("PAYPIPE_WEBHOOK_URL");
  core::Env env(values);
  (void)Config::read(env);
  auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_WEBHOOK_URL") != std::string::npos);
  CHECK(status.error().message.find("PAYPIPE_WEBHOOK_AUTHORIZATION") != std::string::npos);
  CHECK(status.error().message.find("secret") == std::string::npos);

  core::Env ftp(base({{"PAYPIPE_WEBHOOK_URL", "ftp://x/y"}}));
  (void)Config::read(ftp);
  REQUIRE_FALSE(ftp.finish().ok());
  CHECK(ftp.finish().error().message.find("PAYPIPE_WEBHOOK_URL: must start with http") != std::string::npos);
}

TEST_CASE("a claim lease no longer than the webhook timeout is refused") {
  core::Env env(base({{"PAYPIPE_WEBHOOK_TIMEOUT_MS", "10000"}, {"PAYPIPE_FORWARDER_CLAIM_LEASE_MS", "9000"}}));
  (void)Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_FORWARDER_CLAIM_LEASE_MS") != std::string::npos);
}

TEST_CASE("under the spring names the forwarder is data-platform-group, its topics renamed") {
  core::Env env(
      base({{"PAYPIPE_NAMING_PROFILE", "spring"}, {"PAYPIPE_TOPIC_NAMES", "order.completed=order-complete"}}));
  const auto c = data_platform_forwarder::Config::read(env);
  REQUIRE(env.finish().ok());
  const auto& kafka = c.common.kafka;
  CHECK(kafka.group(c.consumer.consumer.group) == "data-platform-group");
  CHECK(kafka.topic("payment.completed") == "payment.success");
  CHECK(kafka.topic("order.completed") == "order-complete");
  CHECK(kafka.topic("retry.data-platform-forwarder") == "data-platform-group.RETRY");
}
