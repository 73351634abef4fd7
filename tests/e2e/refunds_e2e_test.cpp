// Refunds end to end: payment-api, order-processor, ranking-updater, notification-sender
// and data-platform-forwarder as processes on the shared stack, Telegram and the
// analytics webhook faked in-process. Place -> pay -> refund (asked twice): the wallet
// is credited once, the stock is back, the rankings (all time and of the event date)
// no longer count the order, the user gets one message, the webhook gets order.refunded.
#include <catch2/catch.hpp>

#include "contracts/order_refunded.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "fakes/fake_analytics.hpp"
#include "fakes/fake_telegram.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

const std::string admin_token = "e2e-admin-token";
const std::vector<http::Header> admin{{"Authorization", "Bearer " + admin_token}};

core::json::Document parse(const core::Result<http::ClientResponse>& r, int status = 200) {
  REQUIRE(r.ok());
  INFO(r->body);
  REQUIRE(r->status == status);
  auto doc = core::json::parse(r->body);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string text(const core::json::Document& doc, const char* name) {
  REQUIRE(doc.HasMember(name));
  REQUIRE(doc[name].IsString());
  return doc[name].GetString();
}

// unitsSold of `product` in a ranking; 0 when it is not listed.
std::int64_t units_of(const core::json::Document& ranking, const std::string& product) {
  for (const auto& item : ranking["items"].GetArray()) {
    if (product == item["productId"].GetString()) return item["unitsSold"].GetInt64();
  }
  return 0;
}

}  // namespace

TEST_CASE("place -> pay -> refund: wallet credited once, stock back, rankings decremented, user and webhook told") {
  testing::System system;
  testing::FakeTelegram telegram;
  testing::FakeAnalytics analytics;
  testing::Daemon payments(system, "payment-api");
  testing::Daemon orders(system, "order-processor", {{"PAYPIPE_ADMIN_TOKEN", admin_token}});
  testing::Daemon rankings(system, "ranking-updater", {{"PAYPIPE_RANKING_TIME_ZONE", "Asia/Seoul"}});
  testing::Daemon sender(system, "notification-sender",
                         {{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
                          {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
                          {"PAYPIPE_TELEGRAM_CHAT_IDS", "rita=4242"},
                          {"PAYPIPE_NOTIFY_DEFAULT_LOCALE", "en"}});
  testing::Daemon forwarder(system, "data-platform-forwarder", {{"PAYPIPE_WEBHOOK_URL", analytics.url()}});
  for (auto* d : {&payments, &orders, &rankings, &sender, &forwarder}) d->wait_ready();

  // A ticket for an event on Christmas Eve: two seats, both bought, so it sells out.
  parse(orders.post("/v1/products",
                    R"({"productId":"xmas-gig","name":"Christmas gig","unitPrice":20000,"totalStock":2,)"
                    R"("saleOpensAt":")" +
                        core::format_rfc3339(core::now_ms() - 1h) + R"(","eventDate":"2026-12-24"})",
                    admin),
        201);
  parse(payments.post("/v1/wallets/rita/deposits", R"({"amount":50000})",
                      {{"Idempotency-Key", core::new_uuid_v7()}, testing::deposit_credential()}),
        201);
  const auto placed = parse(orders.post("/v1/orders",
                                        R"({"items":[{"productId":"xmas-gig","quantity":2,"unitPrice":20000}],)"
                                        R"("fulfilment":"SHIPPING"})",
                                        {testing::bearer("rita")}),
                            201);
  const auto order_id = text(placed, "orderId");
  const auto pay_key = core::new_uuid_v7();
  core::Result<http::ClientResponse> paid = core::make_error(core::ErrorCategory::internal, "unset", "");
  REQUIRE(testing::eventually(
      [&] {  // 404 until payment-api has read order.created
        paid = payments.post("/v1/payments", R"({"orderId":")" + order_id + R"(","userId":"rita"})",
                             {{"Idempotency-Key", pay_key}, testing::bearer("rita")});
        return paid.ok() && paid->status != 404;
      },
      20s, 50ms));
  const auto payment_id = text(parse(paid, 201), "paymentId");
  const auto order_status = [&] {
    return text(parse(orders.get("/v1/orders/" + order_id, {testing::bearer("rita")})), "status");
  };
  const auto balance = [&] {
    return parse(payments.get("/v1/wallets/rita", {testing::bearer("rita")}))["balance"].GetInt64();
  };
  const auto stock = [&](const char* counter) {
    return parse(orders.get("/v1/products/xmas-gig", {testing::bearer("rita")}))["stock"][counter].GetInt64();
  };
  REQUIRE(testing::eventually([&] { return order_status() == "PREPARING"; }, 30s, 50ms));
  CHECK(balance() == 10000);

  // The sale is in the rankings: all time, of its event date, and it sold out.
  const auto ranking = [&](const std::string& path) { return parse(rankings.get(path)); };
  REQUIRE(testing::eventually([&] { return units_of(ranking("/v1/rankings/sales?date=2026-12-24"), "xmas-gig") == 2; },
                              30s, 100ms));
  CHECK(units_of(ranking("/v1/rankings/products?window=all"), "xmas-gig") == 2);
  REQUIRE(testing::eventually([&] { return ranking("/v1/rankings/sold-out?date=2026-12-24")["items"].Size() == 1; },
                              30s, 100ms));

  // The refund, asked twice (a double click): one refund.
  for (int ask = 0; ask < 2; ++ask) {
    const auto refund = parse(orders.post("/v1/orders/" + order_id + "/refund", "", {testing::bearer("rita")}));
    CHECK(text(refund, "refundReason") == "USER_REQUESTED");
  }
  REQUIRE(testing::eventually([&] { return order_status() == "REFUNDED"; }, 30s, 50ms));
  CHECK(balance() == 50000);
  CHECK(text(parse(payments.get("/v1/payments/" + payment_id, {testing::bearer("rita")})), "status") == "REFUNDED");
  CHECK(stock("sold") == 0);
  CHECK(stock("available") == 2);
  // Asked again once it is over: the same answer, and nothing moves.
  CHECK(text(parse(orders.post("/v1/orders/" + order_id + "/refund", "", {testing::bearer("rita")})), "status") ==
        "REFUNDED");

  // The rankings no longer count it; the sell-out stays (the sale did sell out).
  REQUIRE(testing::eventually([&] { return units_of(ranking("/v1/rankings/sales?date=2026-12-24"), "xmas-gig") == 0; },
                              30s, 100ms));
  CHECK(units_of(ranking("/v1/rankings/products?window=all"), "xmas-gig") == 0);
  CHECK(units_of(ranking("/v1/rankings/sales"), "xmas-gig") == 0);
  CHECK(ranking("/v1/rankings/sold-out?date=2026-12-24")["items"].Size() == 1);

  // The user is told once; the webhook gets order.refunded.
  const auto refund_messages = [&] {
    std::size_t n = 0;
    for (const auto& m : telegram.delivered()) {
      if (m.chat_id == "4242" && m.text.find("refunded") != std::string::npos &&
          m.text.find(order_id) != std::string::npos) {
        ++n;
      }
    }
    return n;
  };
  REQUIRE(testing::eventually([&] { return refund_messages() == 1; }, 30s, 100ms));
  const auto webhook_refunds = [&] {
    std::size_t n = 0;
    for (const auto& d : analytics.delivered()) {
      if (d.body.find(std::string(contracts::OrderRefunded::type)) != std::string::npos &&
          d.body.find(order_id) != std::string::npos) {
        ++n;
      }
    }
    return n;
  };
  REQUIRE(testing::eventually([&] { return webhook_refunds() == 1; }, 30s, 100ms));

  const auto& kafka = system.kafka();
  const auto refunded = testing::read_topic(kafka, kafka.topic("order.refunded"), 1, 20s);
  REQUIRE(refunded.size() == 1);
  CHECK(refunded[0].key == order_id);
  auto event = contracts::decode_order_refunded(refunded[0].value);
  REQUIRE(event.ok());
  CHECK(event->payment_id == payment_id);
  CHECK(event->total_amount == 40000);
  CHECK(event->items.at(0).event_date == "2026-12-24");
  CHECK(testing::read_topic(kafka, kafka.topic("payment.refund-requested"), 2, 3s).size() == 1);

  // Clean stops: a message or a delivery still on its way would show up as a duplicate.
  for (auto* d : {&sender, &forwarder, &rankings, &orders, &payments}) CHECK(d->stop() == 0);
  CHECK(refund_messages() == 1);
  CHECK(webhook_refunds() == 1);
}
