#include "notification_sender/config.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include <algorithm>

using namespace paypipe;
using namespace paypipe::notification_sender;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> base(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> v{{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"},
                                       {"PAYPIPE_PG_DSN", "postgresql://localhost/paypipe"},
                                       {"PAYPIPE_TELEGRAM_BOT_TOKEN", "123:SECRET"}};
  for (auto& [k, value] : extra) v[k] = value;
  return v;
}

}  // namespace

TEST_CASE("the defaults: Telegram's API, 30 s, Korean, unmapped users skipped, a window of 256") {
  core::Env env(base());
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.telegram.base_url == "https://api.telegram.org");
  CHECK(c.telegram.bot_token == "123:SECRET");
  CHECK(c.telegram.timeout == 30000ms);
  CHECK(c.telegram.max_retry_after == 300000ms);  // Retry-After is honoured up to 5 minutes
  CHECK(c.claims.lease == 65000ms);  // 2 x the timeout + 5 s
  CHECK(c.claims.lease > c.telegram.timeout);
  CHECK(!c.claims.owner.empty());
  CHECK(c.recipients.default_locale == Locale::ko);
  CHECK(c.recipients.unmapped == UnmappedUsers::skip);
  CHECK_FALSE(c.recipients.chat_for("123456789").has_value());
  CHECK(c.consumer.consumer.group == "notification-sender");
  // The topics of the notified types: their bare names.
  CHECK(c.consumer.consumer.topics == std::vector<std::string>{"payment.completed", "payment.failed", "order.completed",
                                                               "order.cancelled", "order.refunded", "coupon.issued",
                                                               "coupon.rejected"});
  CHECK(c.consumer.max_in_flight == 256);
  // The Spring services' DefaultErrorHandler: FixedBackOff(1000, 3), 4 tries in all.
  CHECK(c.consumer.retry.max_retries() == 3);
  CHECK(c.consumer.retry.max_attempts == 4);
  CHECK(c.consumer.retry.fixed());
  CHECK(c.consumer.retry.initial_delay == 1000ms);
  CHECK(c.common.database.connect.schema == "notification_sender");
  // Keep-alive connections for the whole window: no reconnect per message.
  CHECK(c.client_options().max_idle_per_host == 256);
  CHECK(c.client_options().request_timeout == 30000ms);
}

TEST_CASE("every notification variable reaches its field") {
  core::Env env(base({{"PAYPIPE_TELEGRAM_BASE_URL", "http://127.0.0.1:8443/"},
                      {"PAYPIPE_TELEGRAM_TIMEOUT_MS", "250"},
                      {"PAYPIPE_TELEGRAM_CONNECT_TIMEOUT_MS", "100"},
                      {"PAYPIPE_TELEGRAM_DEFAULT_RETRY_AFTER_MS", "2000"},
                      {"PAYPIPE_TELEGRAM_MAX_RETRY_AFTER_MS", "60000"},
                      {"PAYPIPE_NOTIFY_CLAIM_LEASE_MS", "45000"},
                      {"PAYPIPE_TELEGRAM_CHAT_IDS", "alice=1001, bob=@bobs_channel"},
                      {"PAYPIPE_TELEGRAM_UNMAPPED_USERS", "default-chat"},
                      {"PAYPIPE_TELEGRAM_DEFAULT_CHAT_ID", "-100500"},
                      {"PAYPIPE_NOTIFY_DEFAULT_LOCALE", "en"},
                      {"PAYPIPE_NOTIFY_LOCALES", "alice=ko"},
                      {"PAYPIPE_NOTIFY_DB_WORKERS", "3"},
                      {"PAYPIPE_NOTIFY_DB_BATCH_SIZE", "64"},
                      {"PAYPIPE_CONSUMER_MAX_IN_FLIGHT", "512"},
                      {"PAYPIPE_RETRY_MAX_RETRIES", "5"},
                      {"PAYPIPE_RETRY_INTERVAL_MS", "0"}}));
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.telegram.base_url == "http://127.0.0.1:8443");  // trailing slash dropped
  CHECK(c.telegram.timeout == 250ms);
  CHECK(c.connect_timeout == 100ms);
  CHECK(c.telegram.default_retry_after == 2000ms);
  CHECK(c.telegram.max_retry_after == 60000ms);
  CHECK(c.claims.lease == 45000ms);
  CHECK(c.recipients.chat_for("alice") == "1001");
  CHECK(c.recipients.chat_for("bob") == "@bobs_channel");
  CHECK(c.recipients.chat_for("carol") == "-100500");
  CHECK(c.recipients.locale_for("alice") == Locale::ko);
  CHECK(c.recipients.locale_for("carol") == Locale::en);
  CHECK(c.claims.db_workers == 3);
  CHECK(c.claims.db_batch_size == 64);
  CHECK(c.common.database.size == 2 * 3 + 4);
  CHECK(c.consumer.max_in_flight == 512);
  CHECK(c.client_options().max_idle_per_host == 512);
  CHECK(c.consumer.retry.max_retries() == 5);
  CHECK(c.consumer.retry.initial_delay == 0ms);
}

TEST_CASE("bad notification settings are all named at once, and the token is never echoed") {
  core::Env env(base({{"PAYPIPE_TELEGRAM_BOT_TOKEN", "123/SECRET"},
                      {"PAYPIPE_TELEGRAM_BASE_URL", "ftp://x"},
                      {"PAYPIPE_TELEGRAM_CHAT_IDS", "alice=not-a-chat,bob"},
                      {"PAYPIPE_TELEGRAM_UNMAPPED_USERS", "default-chat"},
                      {"PAYPIPE_NOTIFY_LOCALES", "alice=fr"},
                      {"PAYPIPE_NOTIFY_DEFAULT_LOCALE", "de"}}));
  (void)Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  CHECK(m.find("PAYPIPE_TELEGRAM_BOT_TOKEN") != std::string::npos);
  CHECK(m.find("SECRET") == std::string::npos);
  CHECK(m.find("PAYPIPE_TELEGRAM_BASE_URL") != std::string::npos);
  CHECK(m.find("PAYPIPE_TELEGRAM_CHAT_IDS") != std::string::npos);
  CHECK(m.find("PAYPIPE_TELEGRAM_DEFAULT_CHAT_ID") != std::string::npos);
  CHECK(m.find("PAYPIPE_NOTIFY_LOCALES") != std::string::npos);
  CHECK(m.find("PAYPIPE_NOTIFY_DEFAULT_LOCALE") != std::string::npos);

  // The user id as chat id is no longer a choice.
  core::Env user_id(base({{"PAYPIPE_TELEGRAM_UNMAPPED_USERS", "user-id"}}));
  (void)Config::read(user_id);
  REQUIRE_FALSE(user_id.finish().ok());
  CHECK(user_id.finish().error().message.find("PAYPIPE_TELEGRAM_UNMAPPED_USERS") != std::string::npos);

  core::Env missing(base({{"PAYPIPE_TELEGRAM_BOT_TOKEN", ""}}));
  (void)Config::read(missing);
  REQUIRE_FALSE(missing.finish().ok());
  CHECK(missing.finish().error().message.find("PAYPIPE_TELEGRAM_BOT_TOKEN: is required") != std::string::npos);
}

TEST_CASE("a claim lease no longer than the Telegram timeout is refused: a claim must outlive its call") {
  core::Env env(base({{"PAYPIPE_TELEGRAM_TIMEOUT_MS", "30000"}, {"PAYPIPE_NOTIFY_CLAIM_LEASE_MS", "30000"}}));
  (void)Config::read(env);
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_NOTIFY_CLAIM_LEASE_MS") != std::string::npos);
}

TEST_CASE("the claim lease follows the Telegram timeout unless it is set") {
  core::Env env(base({{"PAYPIPE_TELEGRAM_TIMEOUT_MS", "3000"}}));
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.claims.lease == 11000ms);
}

TEST_CASE("under the spring names notification-sender is the payment-notification group on payment.success") {
  core::Env env(base({{"PAYPIPE_NAMING_PROFILE", "spring"}}));
  const auto c = notification_sender::Config::read(env);
  REQUIRE(env.finish().ok());
  const auto& kafka = c.common.kafka;
  CHECK(kafka.group(c.consumer.consumer.group) == "payment-notification");
  const auto& topics = c.consumer.consumer.topics;
  CHECK(std::find(topics.begin(), topics.end(), "payment.completed") != topics.end());
  CHECK(kafka.topic("payment.completed") == "payment.success");
  CHECK(kafka.topic("dlq.notification-sender") == "payment-notification.DLQ");
}

TEST_CASE("the webhook, link and template settings: read, checked, the secret never echoed") {
  const auto dir = std::filesystem::temp_directory_path() / ("ns-templates-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = (dir / "good.json").string();
  const auto bad = (dir / "bad.json").string();
  std::ofstream(good) << R"({"payment.completed": {"en": "Paid {amount}"}})";
  std::ofstream(bad) << R"({"payment.completed": {"en": "Paid {total}"}})";

  core::Env env(base({{"PAYPIPE_TELEGRAM_WEBHOOK_SECRET", "hook-secret-1"},
                      {"PAYPIPE_TELEGRAM_BOT_USERNAME", "shop_bot"},
                      {"PAYPIPE_TELEGRAM_LINK_TTL_MS", "60000"},
                      {"PAYPIPE_NOTIFY_TEMPLATES_FILE", good}}));
  const auto c = Config::read(env);
  REQUIRE(env.finish().ok());
  CHECK(c.webhook_secret == "hook-secret-1");
  CHECK(c.bot_username == "shop_bot");
  CHECK(c.link_ttl == 60000ms);
  CHECK(c.templates.text("payment.completed", Locale::en) == "Paid {amount}");
  CHECK(c.templates.text("payment.completed", Locale::ko) ==
        Templates::defaults().text("payment.completed", Locale::ko));

  core::Env wrong(base({{"PAYPIPE_TELEGRAM_WEBHOOK_SECRET", "hook-secret-1"},
                        {"PAYPIPE_TELEGRAM_BOT_USERNAME", "@shop bot"},
                        {"PAYPIPE_TELEGRAM_LINK_TTL_MS", "5"},
                        {"PAYPIPE_NOTIFY_TEMPLATES_FILE", bad}}));
  (void)Config::read(wrong);
  const auto status = wrong.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  CHECK(m.find("PAYPIPE_TELEGRAM_BOT_USERNAME") != std::string::npos);
  CHECK(m.find("PAYPIPE_TELEGRAM_LINK_TTL_MS") != std::string::npos);
  CHECK(m.find("PAYPIPE_NOTIFY_TEMPLATES_FILE") != std::string::npos);
  CHECK(m.find("payment.completed.en") != std::string::npos);
  CHECK(m.find("hook-secret-1") == std::string::npos);
  std::filesystem::remove_all(dir);
}
