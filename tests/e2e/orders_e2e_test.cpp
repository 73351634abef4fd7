// Orders and payments end to end: payment-api and order-processor as processes on the
// shared Kafka and PostgreSQL, driven only through their HTTP APIs (and, for the
// duplicate test, Kafka itself). The happy path, a failed payment, expiry, the refund
// saga and duplicate events.
#include <catch2/catch.hpp>

#include <fstream>

#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

const std::string admin_token = "e2e-admin-token";

core::json::Document parse(const std::string& body) {
  auto doc = core::json::parse(body);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string text(const std::string& body, const char* name) {
  const auto doc = parse(body);
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember(name));
  REQUIRE(doc[name].IsString());
  return doc[name].GetString();
}

// payment-api and order-processor in one System, plus the calls a client makes.
struct Shop {
  testing::System system;
  testing::Daemon payments;
  testing::Daemon orders;
  std::map<std::string, std::string> owners;  // order id -> the user who placed it (whose token reads it)

  explicit Shop(std::map<std::string, std::string> order_env = {})
      : payments(system, "payment-api"), orders(system, "order-processor", with_token(std::move(order_env))) {
    payments.wait_ready();
    orders.wait_ready();
  }

  static std::map<std::string, std::string> with_token(std::map<std::string, std::string> env) {
    env["PAYPIPE_ADMIN_TOKEN"] = admin_token;
    return env;
  }
  static std::vector<http::Header> admin() { return {{"Authorization", "Bearer " + admin_token}}; }

  void product(const std::string& id, std::int64_t price, std::int64_t stock) {
    const auto body = R"({"productId":")" + id + R"(","name":"Product )" + id + R"(","unitPrice":)" +
                      std::to_string(price) + R"(,"totalStock":)" + std::to_string(stock) + R"(,"saleOpensAt":")" +
                      core::format_rfc3339(core::now_ms() - 1h) + "\"}";
    auto r = orders.post("/v1/products", body, admin());
    REQUIRE(r.ok());
    INFO(r->body);
    REQUIRE(r->status == 201);
  }

  // Places an order and returns its id.
  std::string place(const std::string& user, const std::string& product, std::int64_t quantity, std::int64_t price,
                    const std::string& fulfilment) {
    const auto body = R"({"userId":")" + user + R"(","items":[{"productId":")" + product + R"(","quantity":)" +
                      std::to_string(quantity) + R"(,"unitPrice":)" + std::to_string(price) + R"(}],"fulfilment":")" +
                      fulfilment + "\"}";
    auto r = orders.post("/v1/orders", body, {testing::bearer(user)});
    REQUIRE(r.ok());
    INFO(r->body);
    REQUIRE(r->status == 201);
    CHECK(text(r->body, "status") == "PENDING_PAYMENT");
    const auto id = text(r->body, "orderId");
    owners[id] = user;
    return id;
  }

  void deposit(const std::string& user, std::int64_t amount) {
    auto r = payments.post("/v1/wallets/" + user + "/deposits", R"({"amount":)" + std::to_string(amount) + "}",
                           {{"Idempotency-Key", core::new_uuid_v7()}, testing::deposit_credential()});
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
  }

  // Pays, retrying while payment-api has not seen order.created yet (404).
  http::ClientResponse pay(const std::string& order_id, const std::string& user) {
    const auto key = core::new_uuid_v7();
    core::Result<http::ClientResponse> paid = core::make_error(core::ErrorCategory::internal, "unset", "");
    REQUIRE(testing::eventually(
        [&] {
          paid = payments.post("/v1/payments", R"({"orderId":")" + order_id + R"(","userId":")" + user + "\"}",
                               {{"Idempotency-Key", key}, testing::bearer(user)});
          return paid.ok() && paid->status != 404;
        },
        20s, 50ms));
    return *paid;
  }

  std::string order(const std::string& id) {
    auto r = orders.get("/v1/orders/" + id, {testing::bearer(owners.count(id) ? owners.at(id) : "nobody")});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    return r->body;
  }
  std::string status(const std::string& id) { return text(order(id), "status"); }
  bool reaches(const std::string& id, const std::string& wanted, std::chrono::milliseconds within = 30s) {
    std::string last;
    const bool reached = testing::eventually(
        [&] {
          last = status(id);
          return last == wanted;
        },
        within, 50ms);
    if (!reached) WARN("order " << id << " is " << last << ", not " << wanted);
    return reached;
  }

  std::int64_t stock(const std::string& product, const char* counter) {
    auto r = orders.get("/v1/products/" + product, {testing::bearer("shopper")});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    return parse(r->body)["stock"][counter].GetInt64();
  }
  std::int64_t balance(const std::string& user) {
    auto r = payments.get("/v1/wallets/" + user, {testing::bearer(user)});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    return parse(r->body)["balance"].GetInt64();
  }
};

}  // namespace

TEST_CASE("the happy path: product, order, deposit, payment, and the order completes with order.completed on Kafka") {
  Shop shop;
  shop.product("concert:A", 30000, 10);
  const auto order_id = shop.place("alice", "concert:A", 2, 30000, "WAREHOUSE");
  CHECK(shop.stock("concert:A", "held") == 2);
  CHECK(shop.stock("concert:A", "available") == 8);
  shop.deposit("alice", 100000);

  const auto paid = shop.pay(order_id, "alice");
  INFO(paid.body);
  REQUIRE(paid.status == 201);
  CHECK(text(paid.body, "status") == "COMPLETED");
  const auto payment_id = text(paid.body, "paymentId");

  REQUIRE(shop.reaches(order_id, "COMPLETED"));
  const auto done = parse(shop.order(order_id));
  CHECK(done["progress"].GetInt() == 100);
  CHECK_FALSE(done["cancellable"].GetBool());
  CHECK(std::string(done["paymentId"].GetString()) == payment_id);
  CHECK(done["totalAmount"].GetInt64() == 60000);
  CHECK(shop.stock("concert:A", "sold") == 2);
  CHECK(shop.stock("concert:A", "held") == 0);
  CHECK(shop.balance("alice") == 40000);

  const auto& kafka = shop.system.kafka();
  const auto completed = testing::read_topic(kafka, kafka.topic("order.completed"), 1, 20s);
  REQUIRE(completed.size() == 1);
  CHECK(completed[0].key == order_id);
  auto event = contracts::decode_order_completed(completed[0].value);
  REQUIRE(event.ok());
  CHECK(event->payment_id == payment_id);
  CHECK(event->user_id == "alice");
  CHECK(event->total_amount == 60000);
  // The line names its product, for the user's message.
  CHECK(event->items == std::vector<contracts::OrderItem>{{"concert:A", 2, 30000, std::string("Product concert:A")}});
  CHECK(shop.orders.stop() == 0);
  CHECK(shop.payments.stop() == 0);
}

TEST_CASE("a shipping order waits at PREPARING and is advanced by the admin to COMPLETED; the last unit sells out") {
  Shop shop;
  shop.product("book", 1200, 1);
  const auto order_id = shop.place("bob", "book", 1, 1200, "SHIPPING");
  shop.deposit("bob", 1200);
  REQUIRE(shop.pay(order_id, "bob").status == 201);
  REQUIRE(shop.reaches(order_id, "PREPARING"));
  CHECK(parse(shop.order(order_id))["progress"].GetInt() == 50);
  const auto path = "/v1/orders/" + order_id + "/fulfilment";
  auto refused = shop.orders.post(path, R"({"status":"SHIPMENT_STARTED"})");
  REQUIRE(refused.ok());
  CHECK(refused->status == 401);
  for (const auto* step : {"SHIPMENT_STARTED", "IN_TRANSIT", "COMPLETED"}) {
    auto r = shop.orders.post(path, std::string(R"({"status":")") + step + "\"}", Shop::admin());
    REQUIRE(r.ok());
    INFO(r->body);
    CHECK(r->status == 200);
    CHECK(text(r->body, "status") == step);
  }
  const auto& kafka = shop.system.kafka();
  const auto sold_out = testing::read_topic(kafka, kafka.topic("product.sold-out"), 1, 20s);
  REQUIRE(sold_out.size() == 1);
  CHECK(sold_out[0].key == "book");
  auto product = parse(shop.orders.get("/v1/products/book", {testing::bearer("shopper")})->body);
  CHECK(product["soldOutAt"].IsString());
}

TEST_CASE("a failed payment (insufficient funds) cancels the order and releases its stock") {
  Shop shop;
  shop.product("seat", 5000, 3);
  const auto order_id = shop.place("carol", "seat", 3, 5000, "WAREHOUSE");
  CHECK(shop.stock("seat", "available") == 0);
  shop.deposit("carol", 1000);
  const auto refused = shop.pay(order_id, "carol");
  INFO(refused.body);
  CHECK(refused.status == 402);
  REQUIRE(shop.reaches(order_id, "CANCELLED"));
  const auto cancelled = parse(shop.order(order_id));
  CHECK(std::string(cancelled["cancelReason"].GetString()) == "PAYMENT_FAILED");
  CHECK_FALSE(cancelled["cancellable"].GetBool());
  CHECK(shop.stock("seat", "available") == 3);
  CHECK(shop.stock("seat", "held") == 0);
  CHECK(shop.balance("carol") == 1000);

  const auto& kafka = shop.system.kafka();
  const auto records = testing::read_topic(kafka, kafka.topic("order.cancelled"), 1, 20s);
  REQUIRE(records.size() == 1);
  auto event = contracts::decode_order_cancelled(records[0].value);
  REQUIRE(event.ok());
  CHECK(event->reason == "PAYMENT_FAILED");
  CHECK(event->order_id == order_id);
}

TEST_CASE("an unpaid order expires on its own and its stock is sold again") {
  Shop shop({{"PAYPIPE_ORDER_TTL_MS", "1500"},
             {"PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS", "100"},
             {"PAYPIPE_ORDER_EXPIRY_GRACE_MS", "0"}});
  shop.product("ticket", 700, 1);
  const auto order_id = shop.place("dave", "ticket", 1, 700, "WAREHOUSE");
  auto sold_out = shop.orders.post(
      "/v1/orders",
      R"({"userId":"erin","items":[{"productId":"ticket","quantity":1,"unitPrice":700}],"fulfilment":"WAREHOUSE"})",
      {testing::bearer("erin")});
  REQUIRE(sold_out.ok());
  CHECK(sold_out->status == 409);
  CHECK(sold_out->header("content-type") == "application/problem+json");

  REQUIRE(shop.reaches(order_id, "EXPIRED", 20s));
  CHECK(text(shop.order(order_id), "cancelReason") == "EXPIRED");
  CHECK(shop.stock("ticket", "available") == 1);
  const auto& kafka = shop.system.kafka();
  const auto records = testing::read_topic(kafka, kafka.topic("order.cancelled"), 1, 20s);
  REQUIRE(records.size() == 1);
  CHECK(records[0].key == order_id);
  CHECK(contracts::decode_order_cancelled(records[0].value)->reason == "EXPIRED");

  // The stock is for sale again, and the expired order can no longer be paid.
  shop.place("erin", "ticket", 1, 700, "WAREHOUSE");
  shop.deposit("dave", 700);
  CHECK(shop.pay(order_id, "dave").status == 409);
  CHECK(shop.balance("dave") == 700);
  CHECK(shop.orders.stop() == 0);
}

TEST_CASE("the refund saga: a payment accepted just before expiry reaches an order the sweep expired first") {
  // No periodic sweep: the test decides when the sweep runs. To make sure the sweep
  // wins the race against the payment event, order-processor's consumer is held at its
  // first statement (recording the event id) by a lock on processed_events, which
  // neither the sweep nor the HTTP reads touch; the lock goes once the order expired.
  Shop shop({{"PAYPIPE_ORDER_TTL_MS", "6000"},
             {"PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS", "0"},
             {"PAYPIPE_ORDER_EXPIRY_GRACE_MS", "0"}});
  shop.product("vip", 25000, 5);
  shop.deposit("frank", 30000);
  const auto order_id = shop.place("frank", "vip", 1, 25000, "WAREHOUSE");
  const auto expires_at = core::parse_rfc3339(text(shop.order(order_id), "expiresAt"));
  REQUIRE(expires_at.has_value());

  auto gate = testing::connect(shop.system.schema("order-processor"));
  REQUIRE(gate.exec("BEGIN").ok());
  REQUIRE(gate.exec("LOCK TABLE processed_events IN SHARE MODE").ok());

  const auto paid = shop.pay(order_id, "frank");
  INFO(paid.body);
  REQUIRE(paid.status == 201);  // accepted before the deadline
  const auto payment_id = text(paid.body, "paymentId");
  CHECK(shop.balance("frank") == 5000);

  REQUIRE(testing::eventually([&] { return core::now_ms() > *expires_at; }, 20s, 50ms));
  auto swept = shop.orders.post("/v1/admin/expiry-sweeps", "", Shop::admin());
  REQUIRE(swept.ok());
  REQUIRE(swept->status == 200);
  CHECK(swept->body == R"({"expired":1})");
  CHECK(shop.status(order_id) == "EXPIRED");
  CHECK(shop.stock("vip", "available") == 5);

  REQUIRE(gate.exec("COMMIT").ok());  // the payment event goes through now
  REQUIRE(shop.reaches(order_id, "REFUNDED"));
  const auto refunded = parse(shop.order(order_id));
  CHECK(std::string(refunded["paymentId"].GetString()) == payment_id);
  CHECK(refunded["progress"].GetInt() == 100);
  CHECK(shop.balance("frank") == 30000);
  auto payment = shop.payments.get("/v1/payments/" + payment_id, {testing::bearer("frank")});
  REQUIRE(payment.ok());
  CHECK(text(payment->body, "status") == "REFUNDED");
  CHECK(shop.stock("vip", "sold") == 0);
  CHECK(shop.stock("vip", "available") == 5);

  const auto& kafka = shop.system.kafka();
  const auto requests = testing::read_topic(kafka, kafka.topic("payment.refund-requested"), 1, 20s);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].key == order_id);
  auto request = contracts::decode_payment_refund_requested(requests[0].value);
  REQUIRE(request.ok());
  CHECK(request->reason == "ORDER_EXPIRED");
  CHECK(request->payment_id == payment_id);
  CHECK(request->amount == 25000);
  CHECK(testing::read_topic(kafka, kafka.topic("order.completed"), 1, 2s).empty());
}

TEST_CASE("the same payment.completed delivered twice (same ce_id), and once more under a new id, changes nothing") {
  Shop shop;
  shop.product("mug", 900, 4);
  const auto order_id = shop.place("gina", "mug", 2, 900, "WAREHOUSE");
  auto producer = events::Producer::create(shop.system.kafka());
  REQUIRE(producer.ok());
  const auto data = contracts::encode(
      contracts::PaymentCompleted{core::new_uuid_v7(), order_id, "gina", 1800, "KRW", core::now_rfc3339()});
  const auto event = events::make_event("payment.completed", "/test/payment-api", order_id, data);
  const auto topic = shop.system.kafka().topic("payment.completed");
  for (int i = 0; i < 2; ++i) {
    REQUIRE((*producer)->send_and_wait({topic, order_id, event.data, events::to_headers(event)}, 10s).ok());
  }
  REQUIRE(shop.reaches(order_id, "COMPLETED"));
  const auto again = events::make_event("payment.completed", "/test/payment-api", order_id, data);
  REQUIRE(again.id != event.id);
  REQUIRE((*producer)->send_and_wait({topic, order_id, again.data, events::to_headers(again)}, 10s).ok());

  // Two distinct event ids were recorded: the third delivery was handled too.
  auto db = testing::connect(shop.system.schema("order-processor"));
  REQUIRE(testing::eventually([&] { return testing::query_integer(db, "SELECT count(*) FROM processed_events") == 2; },
                              20s));
  CHECK(shop.status(order_id) == "COMPLETED");
  CHECK(shop.stock("mug", "sold") == 2);
  CHECK(shop.stock("mug", "held") == 0);
  const auto& kafka = shop.system.kafka();
  CHECK(testing::read_topic(kafka, kafka.topic("order.completed"), 2, 3s).size() == 1);
  CHECK(testing::read_topic(kafka, kafka.topic("payment.refund-requested"), 1, 1s).empty());
}

TEST_CASE("order-processor refuses bad input with problem+json and a bad configuration by name") {
  Shop shop;
  const auto a = testing::bearer("a");
  auto bad = shop.orders.post("/v1/orders", R"({"userId":"a b","items":[],"fulfilment":"DRONE"})", {a});
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  CHECK(bad->header("content-type") == "application/problem+json");
  CHECK(bad->body.find("userId") != std::string::npos);
  CHECK(bad->body.find("fulfilment") != std::string::npos);
  auto missing = shop.orders.post(
      "/v1/orders",
      R"({"userId":"a","items":[{"productId":"nope","quantity":1,"unitPrice":1}],"fulfilment":"SHIPPING"})", {a});
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(missing->body.find("nope") != std::string::npos);
  CHECK(shop.orders.get("/v1/orders/not-a-uuid", {a})->status == 400);
  CHECK(shop.orders.get("/v1/orders/" + core::new_uuid_v7(), {a})->status == 404);
  CHECK(shop.orders.get("/v1/orders/" + core::new_uuid_v7())->status == 401);
  CHECK(shop.orders.post("/v1/admin/expiry-sweeps", "")->status == 401);
  CHECK(shop.orders.running());

  testing::Daemon broken(shop.system, "order-processor",
                         {{"PAYPIPE_ORDER_TTL_MS", "soon"}, {"PAYPIPE_CURRENCY", "won"}});
  REQUIRE(testing::eventually([&] { return !broken.running(); }, 10s));
  std::ifstream log(broken.log_path());
  const std::string all((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(all.find("PAYPIPE_ORDER_TTL_MS: must be an integer") != std::string::npos);
  CHECK(all.find("PAYPIPE_CURRENCY: must be three upper-case letters") != std::string::npos);
}
