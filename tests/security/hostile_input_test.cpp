// Every daemon as a process, fed hostile input through every string it takes: SQL
// metacharacters in every string field of every POST body, in path segments, query
// parameters and Idempotency-Keys. The daemons answer 2xx or 4xx (never 5xx), stored
// strings come back byte for byte, and every table is still there. The same run is
// also the one that exercises errors for the secrets check: the admin token, the
// database password, the Telegram bot token and the webhook's Authorization are set to
// fresh random values, Telegram and the webhook fail, and afterwards no log line of any
// daemon and no error body contains any of them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "contracts/order_completed.hpp"
#include "contracts/payment_completed.hpp"
#include "core/time.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "fakes/fake_analytics.hpp"
#include "fakes/fake_telegram.hpp"
#include "security_support.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
using namespace paypipe::testing::security;

namespace {

// SQL metacharacters and friends; no NUL (JSON and C strings), valid UTF-8.
const std::vector<std::string> hostile{
    "O'Brien",
    "'; DROP TABLE products; --",
    "\"; DROP TABLE coupons; --",
    "' OR '1'='1",
    "1); DELETE FROM orders WHERE (1=1",
    "back\\slash\\' \\\\",
    "50% _off_ %%",
    "$1 $$dollar$$ $tag$ E'\\x27'",
    "-- comment /* block */",
    "Ünïcødé ✓ 한국어 🎟 \u202e",
    "\t tab and\nnewline",
};
// The same, as Idempotency-Keys must be: printable ASCII without spaces.
const std::vector<std::string> hostile_keys{
    "O'Brien",    "';DROP-TABLE-wallets;--", "'OR'1'='1",  "back\\slash\\'",
    "50%_off_%%", "$1$$tag$$E'\\x27'",       "\"quoted\"", "--/*x*/",
};

std::int64_t table_count(const std::string& schema) {
  auto c = testing::connect("public");
  return testing::query_integer(c,
                                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '" + schema + "'");
}

struct Secrets {
  std::string admin = secret("adm-");
  std::string pg_password = secret("pgpw-");
  std::string telegram = "7" + secret(":tg-");
  std::string webhook = "Bearer " + secret("whk-");
  std::string telegram_webhook = secret("tgw-");  // Telegram's secret_token for our webhook
};

}  // namespace

TEST_CASE("hostile strings reach no SQL, no 5xx, round-trip unchanged; no secret reaches a log line or an error body") {
  const Secrets secrets;
  testing::FakeTelegram telegram(secrets.telegram);
  testing::FakeTelegram::Behaviour failing;
  failing.mode = "fail";
  failing.status = 500;
  telegram.set(failing);
  testing::FakeAnalytics analytics;
  testing::FakeAnalytics::Behaviour webhook_failing;
  webhook_failing.mode = "fail";
  webhook_failing.status = 500;
  analytics.set(webhook_failing);

  testing::System system;
  // Writes are not rate-limited here: every hostile string must reach the handlers.
  const std::map<std::string, std::string> common{{"PAYPIPE_ADMIN_TOKEN", secrets.admin},
                                                  {"PAYPIPE_PG_PASSWORD", secrets.pg_password},
                                                  {"PAYPIPE_RATE_LIMIT_PER_USER", "0"}};
  auto with = [&](std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : extra) env[k] = v;
    env["PAYPIPE_PG_PASSWORD"] = secrets.pg_password;
    return env;
  };
  testing::Daemon payments(system, "payment-api", with({{"PAYPIPE_RATE_LIMIT_PER_USER", "0"}}));
  testing::Daemon orders(system, "order-processor", common);
  testing::Daemon coupons(system, "coupon-issuer", common);
  testing::Daemon retrier(system, "dlq-retrier",
                          with({{"PAYPIPE_ADMIN_TOKEN", secrets.admin},
                                {"PAYPIPE_RETRIER_INTERVAL_MS", "200"},
                                {"PAYPIPE_KAFKA_PROPERTIES", "topic.metadata.refresh.interval.ms=1000"}}));
  testing::Daemon notify(system, "notification-sender",
                         with({{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
                               {"PAYPIPE_TELEGRAM_BOT_TOKEN", secrets.telegram},
                               {"PAYPIPE_TELEGRAM_CHAT_IDS", "1001=1001"},  // the payment below
                               {"PAYPIPE_TELEGRAM_WEBHOOK_SECRET", secrets.telegram_webhook},
                               {"PAYPIPE_TELEGRAM_TIMEOUT_MS", "500"},
                               {"PAYPIPE_NOTIFY_DEFAULT_LOCALE", "en"},
                               {"PAYPIPE_RETRY_MAX_RETRIES", "1"},
                               {"PAYPIPE_RETRY_INTERVAL_MS", "10"}}));
  testing::Daemon forwarder(system, "data-platform-forwarder",
                            with({{"PAYPIPE_WEBHOOK_URL", analytics.url()},
                                  {"PAYPIPE_WEBHOOK_AUTHORIZATION", secrets.webhook},
                                  {"PAYPIPE_WEBHOOK_TIMEOUT_MS", "500"},
                                  {"PAYPIPE_RETRY_MAX_RETRIES", "1"},
                                  {"PAYPIPE_RETRY_INTERVAL_MS", "10"}}));
  testing::Daemon rankings(system, "ranking-updater", with({}));
  std::vector<testing::Daemon*> all{&payments, &orders, &coupons, &retrier, &notify, &forwarder, &rankings};
  for (auto* d : all) d->wait_ready();

  std::map<std::string, std::int64_t> tables;
  for (const auto* service : {"payment-api", "order-processor", "coupon-issuer", "dlq-retrier", "notification-sender",
                              "data-platform-forwarder", "ranking-updater"}) {
    tables[service] = table_count(system.schema(service));
    CHECK(tables[service] > 0);
  }

  std::vector<std::string> bodies;  // every answer, for the secrets check
  const std::vector<http::Header> admin{{"Authorization", "Bearer " + secrets.admin}};
  // Requests without an Authorization header go as user u1 (a valid token): the hostile
  // strings must reach the handlers, not stop at the door.
  auto call = [&](testing::Daemon& d, const std::string& method, const std::string& path, const std::string& body,
                  std::vector<http::Header> headers = {}) {
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    const bool has_credential = std::any_of(headers.begin(), headers.end(),
                                            [](const http::Header& h) { return h.name == "Authorization"; });
    if (!has_credential) headers.push_back(testing::bearer("u1"));
    auto r = d.request(method, path, body, headers);
    INFO(method << " " << path << " " << body.substr(0, 300));
    REQUIRE(r.ok());
    INFO("answered " << r->status << " " << r->body.substr(0, 500));
    CHECK(r->status >= 200);
    CHECK(r->status < 500);
    bodies.push_back(r->body);
    return std::move(r).value();
  };
  const auto opens = core::format_rfc3339(core::now_ms() - 1h);
  const auto until = core::format_rfc3339(core::now_ms() + 1h);

  // order-processor: products (name stored; productId refused), orders, cancel, fulfilment.
  REQUIRE(
      call(orders, "POST", "/v1/products",
           R"({"productId":"sec-base","name":"base","unitPrice":100,"totalStock":1000,"saleOpensAt":")" + opens + "\"}",
           admin)
          .status == 201);
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    const auto& s = hostile[i];
    const std::string id = "sec-p" + std::to_string(i);
    auto created = call(orders, "POST", "/v1/products",
                        R"({"productId":")" + id + R"(","name":)" + quoted(s) +
                            R"(,"unitPrice":100,"totalStock":10,"saleOpensAt":")" + opens + "\"}",
                        admin);
    CHECK(created.status == 201);
    auto read = call(orders, "GET", "/v1/products/" + id, "");
    REQUIRE(read.status == 200);
    CHECK(std::string(json_of(read.body)["name"].GetString()) == s);
    // Hostile ids are refused, never run.
    call(orders, "POST", "/v1/products",
         R"({"productId":)" + quoted(s) + R"(,"name":"x","unitPrice":100,"totalStock":10,"saleOpensAt":")" + opens +
             "\"}",
         admin);
    call(orders, "POST", "/v1/products",
         R"({"productId":"sec-q)" + std::to_string(i) +
             R"(","name":"x","unitPrice":100,"totalStock":10,"saleOpensAt":)" + quoted(s) + "}",
         admin);
    call(orders, "GET", "/v1/products/" + http::url_encode(s), "");
    call(orders, "POST", "/v1/orders",
         R"({"userId":)" + quoted(s) +
             R"(,"items":[{"productId":"sec-base","quantity":1,"unitPrice":100}],"fulfilment":"WAREHOUSE"})");
    call(orders, "POST", "/v1/orders",
         R"({"userId":"u1","items":[{"productId":)" + quoted(s) +
             R"(,"quantity":1,"unitPrice":100}],"fulfilment":"WAREHOUSE"})");
    call(orders, "POST", "/v1/orders",
         R"({"userId":"u1","items":[{"productId":"sec-base","quantity":1,"unitPrice":100}],"fulfilment":)" + quoted(s) +
             "}");
    call(orders, "GET", "/v1/orders/" + http::url_encode(s), "");
  }
  // Idempotency-Keys are stored: the same key replays the same order.
  for (const auto& k : hostile_keys) {
    const std::string body =
        R"({"userId":"u-keys","items":[{"productId":"sec-base","quantity":1,"unitPrice":100}],"fulfilment":"SHIPPING"})";
    auto first = call(orders, "POST", "/v1/orders", body, {{"Idempotency-Key", k}, testing::bearer("u-keys")});
    REQUIRE(first.status == 201);
    auto again = call(orders, "POST", "/v1/orders", body, {{"Idempotency-Key", k}, testing::bearer("u-keys")});
    CHECK(again.status == 201);
    CHECK(again.header("idempotent-replayed").value_or("") == "true");
    const std::string order_id = json_of(first.body)["orderId"].GetString();
    CHECK(std::string(json_of(again.body)["orderId"].GetString()) == order_id);
    for (const auto& s : hostile) {
      call(orders, "POST", "/v1/orders/" + order_id + "/cancel", R"({"userId":)" + quoted(s) + "}",
           {testing::bearer("u-keys")});
      call(orders, "POST", "/v1/orders/" + order_id + "/fulfilment", R"({"status":)" + quoted(s) + "}", admin);
    }
  }

  // coupon-issuer: names stored; dates, user ids and path ids refused.
  for (const auto& s : hostile) {
    auto created = call(coupons, "POST", "/v1/coupons",
                        R"({"name":)" + quoted(s) + R"(,"discount":100,"totalStock":5,"validFrom":")" + opens +
                            R"(","validUntil":")" + until + "\"}",
                        admin);
    REQUIRE(created.status == 201);
    const std::string id = json_of(created.body)["couponId"].GetString();
    auto read = call(coupons, "GET", "/v1/coupons/" + id, "");
    REQUIRE(read.status == 200);
    CHECK(std::string(json_of(read.body)["name"].GetString()) == s);
    call(coupons, "POST", "/v1/coupons",
         R"({"name":"x","discount":100,"totalStock":5,"validFrom":)" + quoted(s) + R"(,"validUntil":")" + until + "\"}",
         admin);
    call(coupons, "POST", "/v1/coupons/" + id + "/issue", R"({"userId":)" + quoted(s) + "}");
    call(coupons, "POST", "/v1/coupons/" + http::url_encode(s) + "/issue", R"({"userId":"u1"})");
    call(coupons, "GET", "/v1/coupon-requests/" + http::url_encode(s), "");
    call(coupons, "GET", "/v1/users/" + http::url_encode(s) + "/coupons?limit=" + http::url_encode(s), "");
  }

  // payment-api: deposits under hostile keys (stored, replayed), hostile ids refused.
  for (const auto& k : hostile_keys) {
    auto first = call(payments, "POST", "/v1/wallets/u-keys/deposits", R"({"amount":1})",
                      {{"Idempotency-Key", k}, testing::deposit_credential()});
    CHECK(first.status == 201);
    auto again = call(payments, "POST", "/v1/wallets/u-keys/deposits", R"({"amount":1})",
                      {{"Idempotency-Key", k}, testing::deposit_credential()});
    CHECK(again.status == 201);
    CHECK(again.header("idempotent-replayed").value_or("") == "true");
    call(payments, "POST", "/v1/payments", R"({"orderId":")" + core::new_uuid_v7() + R"(","userId":"u-keys"})",
         {{"Idempotency-Key", k}, testing::bearer("u-keys")});
  }
  auto wallet = call(payments, "GET", "/v1/wallets/u-keys", "", {testing::bearer("u-keys")});
  REQUIRE(wallet.status == 200);
  CHECK(json_of(wallet.body)["balance"].GetInt64() == static_cast<std::int64_t>(hostile_keys.size()));
  for (const auto& s : hostile) {
    call(payments, "POST", "/v1/payments", R"({"orderId":)" + quoted(s) + R"(,"userId":"u1"})",
         {{"Idempotency-Key", "k"}});
    call(payments, "POST", "/v1/payments", R"({"orderId":")" + core::new_uuid_v7() + R"(","userId":)" + quoted(s) + "}",
         {{"Idempotency-Key", "k2"}});
    call(payments, "POST", "/v1/wallets/" + http::url_encode(s) + "/deposits", R"({"amount":1})",
         {{"Idempotency-Key", "k3"}, testing::deposit_credential()});
    // Hostile text as the bearer token itself: refused at the door.
    call(payments, "GET", "/v1/wallets/u1", "", {{"Authorization", "Bearer " + s}});
    call(payments, "GET", "/v1/wallets/" + http::url_encode(s), "");
    call(payments, "GET", "/v1/payments/" + http::url_encode(s), "");
    // The query strings of the read-only daemons.
    const auto q = http::url_encode(s);
    call(notify, "GET", "/v1/notifications?userId=" + q + "&limit=" + q + "&after=" + q, "");
    call(notify, "GET", "/v1/notifications?userId=" + q, "");
    // The bot's webhook: hostile link tokens and commands, with and without the secret.
    const std::vector<http::Header> telegram_secret{{"X-Telegram-Bot-Api-Secret-Token", secrets.telegram_webhook}};
    call(notify, "POST", "/v1/telegram/webhook",
         R"({"update_id":1,"message":{"chat":{"id":42},"text":)" + quoted("/start " + s) + "}}", telegram_secret);
    call(notify, "POST", "/v1/telegram/webhook",
         R"({"update_id":2,"message":{"chat":{"id":42},"text":)" + quoted(s) + R"(,"from":{"language_code":)" +
             quoted(s) + "}}}",
         telegram_secret);
    call(notify, "POST", "/v1/telegram/webhook", quoted(s), telegram_secret);
    call(notify, "POST", "/v1/telegram/webhook",
         R"({"update_id":3,"message":{"chat":{"id":42},"text":)" + quoted("/start " + s) + "}}");
    call(notify, "POST", "/v1/telegram/link-tokens", "");
    call(forwarder, "GET", "/v1/deliveries?status=" + q, "");
    call(forwarder, "GET", "/v1/deliveries?after=" + q + "&limit=" + q, "");
    call(forwarder, "GET", "/v1/deliveries/" + q, "");
    call(rankings, "GET", "/v1/rankings/products?window=" + q, "");
    call(rankings, "GET", "/v1/rankings/products?window=day&date=" + q, "");
    call(rankings, "GET", "/v1/rankings/sold-out?limit=" + q, "");
    call(retrier, "GET", "/v1/parked?group=" + q + "&topic=" + q + "&errorClass=" + q, "", admin);
    call(retrier, "GET", "/v1/parked?status=" + q + "&cursor=" + q + "&limit=" + q, "", admin);
    call(retrier, "GET", "/v1/parked/" + q, "", admin);
    call(retrier, "POST", "/v1/parked/replay?group=" + q, "", admin);
    call(retrier, "DELETE", "/v1/parked/" + q, "", admin);
    // Wrong admin tokens: refused, and the answer names no secret.
    call(orders, "POST", "/v1/admin/expiry-sweeps", "", {{"Authorization", "Bearer " + s}});
    call(retrier, "GET", "/v1/parked", "", {{"Authorization", "Bearer " + secrets.admin.substr(1)}});
  }

  // The outside calls fail: Telegram and the webhook answer 500 to a payment, so
  // notification-sender and data-platform-forwarder log their failures and dead-letter.
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());
  const contracts::PaymentCompleted paid{core::new_uuid_v7(), core::new_uuid_v7(), "1001", 15000, "KRW",
                                         core::now_rfc3339()};
  REQUIRE((*producer)
              ->send_event(events::make_event("payment.completed", "/security", paid.order_id, contracts::encode(paid)),
                           [](const events::Delivery&) {})
              .ok());
  REQUIRE((*producer)->flush(10s).ok());
  REQUIRE(testing::eventually([&] { return telegram.attempts() >= 2 && analytics.requests() >= 2; }, 60s, 50ms));
  // dlq-retrier sees the dead letters (a retry after 200 ms): wait for them to go round.
  REQUIRE(testing::eventually([&] { return telegram.attempts() >= 3; }, 60s, 50ms));

  // Tables: all still there.
  for (const auto& [service, count] : tables) {
    INFO(service);
    CHECK(table_count(system.schema(service)) == count);
  }

  // Stop everything (logs flushed), then read every log line.
  for (auto* d : all) CHECK(d->stop() == 0);
  std::size_t lines = 0;
  std::size_t error_lines = 0;
  const std::vector<std::pair<std::string, std::string>> secret_values{
      {"admin token", secrets.admin},
      {"database password", secrets.pg_password},
      {"Telegram bot token", secrets.telegram},
      {"webhook Authorization", secrets.webhook.substr(7)},
      {"Telegram webhook secret", secrets.telegram_webhook}};
  for (const auto& entry : std::filesystem::directory_iterator(system.log_dir())) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      ++lines;
      if (line.find("\"error\"") != std::string::npos || line.find("\"warn") != std::string::npos) ++error_lines;
      for (const auto& [what, value] : secret_values) {
        INFO(entry.path().filename().string() << ": the " << what << " in: " << line.substr(0, 400));
        CHECK(line.find(value) == std::string::npos);
      }
    }
  }
  CHECK(lines > 50);
  CHECK(error_lines > 0);  // the run did exercise errors
  for (const auto& body : bodies) {
    for (const auto& [what, value] : secret_values) {
      INFO("the " << what << " in an answer: " << body.substr(0, 400));
      CHECK(body.find(value) == std::string::npos);
    }
  }
}
