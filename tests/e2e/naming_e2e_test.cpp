// payment-api and notification-sender as processes under the Spring services' names
// (PAYPIPE_NAMING_PROFILE=spring): orders read from order.created by payment-group, the
// payments published to payment.success (with the __TypeId__ a Spring listener's
// JsonDeserializer reads, from PAYPIPE_SPRING_TYPE_IDS), read from there by
// payment-notification, each paid order one Telegram message; nothing under our own names.
#include <catch2/catch.hpp>

#include <set>

#include "contracts/order_created.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/admin.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "events/spring_interop.hpp"
#include "fakes/fake_telegram.hpp"
#include "http/client.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("under the spring names payments go through payment.success to one Telegram message each") {
  constexpr int payments = 20;
  testing::FakeTelegram telegram;
  testing::System system(3, {{"PAYPIPE_NAMING_PROFILE", "spring"}});
  const auto& prefix = system.prefix();
  const std::string spring_class = "com.example.payment.PaymentSuccessEvent";
  testing::Daemon api(
      system, "payment-api",
      {{"PAYPIPE_RATE_LIMIT_PER_USER", "0"}, {"PAYPIPE_SPRING_TYPE_IDS", "payment.completed=" + spring_class}});
  testing::Daemon sender(system, "notification-sender",
                         {{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
                          {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
                          {"PAYPIPE_TELEGRAM_CHAT_IDS", "spring-user=1000001"}});
  api.wait_ready();
  sender.wait_ready();

  // Payable orders, announced as order-processor would (order.created keeps its name).
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());
  std::vector<std::string> orders;
  for (int i = 0; i < payments; ++i) {
    const auto order_id = core::new_uuid_v7();
    orders.push_back(order_id);
    const contracts::OrderCreated order{
        order_id, "spring-user", {{"seat-" + std::to_string(i), 1, 1000}},     1000,
        "KRW",    "SHIPPING",    core::format_rfc3339(core::now_ms() + 30min), core::now_rfc3339()};
    REQUIRE((*producer)
                ->send({prefix + "order.created", order_id, contracts::encode(order),
                        events::to_headers(events::make_event("order.created", "/test", order_id, ""))},
                       nullptr)
                .ok());
  }
  REQUIRE((*producer)->flush(20s).ok());
  auto deposit = api.post("/v1/wallets/spring-user/deposits", R"({"amount":)" + std::to_string(1000 * payments) + "}",
                          {{"Idempotency-Key", "fund-spring"}, testing::deposit_credential()});
  REQUIRE(deposit.ok());
  REQUIRE(deposit->status == 201);
  auto projection = testing::connect(system.schema("payment-api"));
  REQUIRE(testing::eventually(
      [&] { return testing::query_integer(projection, "SELECT count(*) FROM payable_orders") == payments; }, 30s,
      50ms));

  std::set<std::string> paid;
  http::Client client;
  for (const auto& order_id : orders) {
    auto r = client.send(
        {"POST",
         api.url("/v1/payments"),
         {{"Content-Type", "application/json"}, {"Idempotency-Key", "pay-" + order_id}, testing::bearer("spring-user")},
         R"({"orderId":")" + order_id + R"(","userId":"spring-user"})",
         std::nullopt});
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
    auto body = core::json::parse(r->body);
    REQUIRE(body.ok());
    paid.insert((*body)["paymentId"].GetString());
  }

  // payment.success carries them, and notification-sender turns each into one message.
  const auto success = testing::read_topic(system.kafka(), prefix + "payment.success", payments, 30s);
  CHECK(success.size() == payments);
  for (const auto& record : success) {
    const auto* type_id = events::find_header(record.headers, events::spring_type_id_header);
    REQUIRE(type_id != nullptr);
    CHECK(*type_id == spring_class);
  }
  REQUIRE(testing::eventually([&] { return telegram.delivered().size() >= payments; }, 60s, 100ms));
  CHECK(sender.stop() == 0);
  CHECK(telegram.delivered().size() == payments);

  // The groups the broker knows are the Spring services', none of ours; no topic of ours.
  auto admin = events::Admin::create(system.kafka());
  REQUIRE(admin.ok());
  CHECK((*admin)->describe_group(prefix + "payment-group", 10s).ok());
  CHECK((*admin)->describe_group(prefix + "payment-notification", 10s).ok());
  CHECK_FALSE((*admin)->describe_group(prefix + "payment-api", 10s).ok());
  CHECK_FALSE((*admin)->describe_group(prefix + "notification-sender", 10s).ok());
  auto topics = (*admin)->list_topics(10s);
  REQUIRE(topics.ok());
  std::set<std::string> ours(topics->begin(), topics->end());
  CHECK(ours.contains(prefix + "payment-notification.DLQ"));
  CHECK(ours.contains(prefix + "coupon-requests"));
  CHECK_FALSE(ours.contains(prefix + "payment.completed"));
  CHECK_FALSE(ours.contains(prefix + "dlq.notification-sender"));
}
