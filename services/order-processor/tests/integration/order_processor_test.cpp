// order-processor against the real PostgreSQL (and Kafka for the outbox): stock holds
// under concurrency, idempotency, the payment events applied once whatever is
// redelivered or crashes, the expiry sweep with several sweepers, sold-out once.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "contracts/order_created.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "contracts/payment_refunded.hpp"
#include "contracts/product_sold_out.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"
#include "events/event_types.hpp"
#include "events/idempotency.hpp"
#include "events/outbox.hpp"
#include "order_processor/event_handlers.hpp"
#include "order_processor/expiry_sweeper.hpp"
#include "order_processor/http_api.hpp"
#include "order_processor/order_store.hpp"
#include "order_processor/schema.hpp"
#include "runtime/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"
#include "support/statements.hpp"

using namespace paypipe;
using namespace paypipe::order_processor;
using namespace std::chrono_literals;

namespace {

struct OrdersFixture : testing::FreshSchema {
  pg::Pool pool{pg::PoolOptions{testing::pg_options(schema), 40, 30000ms}};
  OrderSettings settings{10min, "KRW"};

  OrdersFixture() : FreshSchema("orders", runtime::with_event_tables(schema::embedded_files())) {}

  void product(const std::string& id, std::int64_t total, std::int64_t price = 1000) {
    auto written = create_product(connection, ProductSpec{id, "Product " + id, price, total, core::now_ms() - 1h},
                                  "KRW");
    REQUIRE(written.ok());
  }

  core::Result<PlacedOrder> place(const std::string& user, std::vector<contracts::OrderItem> items,
                                  const std::string& fulfilment = "WAREHOUSE",
                                  std::optional<std::string> key = std::nullopt) {
    auto lease = pool.acquire();
    REQUIRE(lease.ok());
    return place_order(**lease, OrderRequest{user, std::move(items), fulfilment, std::move(key)}, settings,
                       core::now_ms());
  }

  Order placed(const std::string& user, std::vector<contracts::OrderItem> items,
               const std::string& fulfilment = "WAREHOUSE") {
    auto result = place(user, std::move(items), fulfilment);
    REQUIRE(result.ok());
    return result->order;
  }

  static events::ConsumedEvent consumed(const std::string& type, const std::string& data, std::string id) {
    events::Event e;
    e.id = std::move(id);
    e.type = type;
    e.data = data;
    return events::ConsumedEvent{e, type, 0, 0, 1};
  }

  events::Outcome apply(const std::string& type, const std::string& data, std::string id = core::new_uuid_v7()) {
    const std::vector<events::ConsumedEvent> batch{consumed(type, data, std::move(id))};
    return events::apply_exactly_once(pool, "order-processor", batch, apply_events, "order-processor")[0];
  }

  static std::string paid(const Order& order, const std::string& payment_id) {
    return contracts::encode(contracts::PaymentCompleted{payment_id, order.id, order.user_id, order.total_amount,
                                                         order.currency, core::now_rfc3339()});
  }
  static std::string failed(const Order& order) {
    return contracts::encode(contracts::PaymentFailed{core::new_uuid_v7(), order.id, order.user_id, order.total_amount,
                                                      order.currency, "INSUFFICIENT_FUNDS", core::now_rfc3339()});
  }

  std::string status(const std::string& order_id) {
    auto order = find_order(connection, order_id);
    REQUIRE(order.ok());
    REQUIRE(order->has_value());
    return std::string(to_string((*order)->status));
  }
  std::int64_t count(const std::string& sql) { return testing::query_integer(connection, sql); }
  // `type` as an event's name ("order.completed"): the outbox holds its current name.
  std::int64_t outbox(const std::string& type) {
    return count("SELECT count(*) FROM outbox WHERE type = '" + events::current_type(type) + "'");
  }
  std::int64_t stock(const std::string& product, const std::string& column) {
    return count("SELECT " + column + " FROM products WHERE id = '" + product + "'");
  }
};

// Calls `route` as the HTTP server would, without a socket. No Catch2 assertion
// inside: tests call it from many threads.
http::Response invoke(const http::Router::Route& route, std::map<std::string, std::string> params,
                      const std::string& method, const std::string& path, const std::string& body,
                      std::vector<http::Header> headers) {
  http::Request request;
  request.method = method;
  request.path = path;
  request.body = body;
  request.headers = std::move(headers);
  request.headers.push_back({"content-type", "application/json"});
  request.path_params = std::move(params);
  if (route.handler) return route.handler(request);
  std::promise<http::Response> answer;
  auto answered = answer.get_future();
  route.async_handler(std::move(request), [&answer](http::Response r) { answer.set_value(std::move(r)); });
  return answered.get();
}

std::shared_ptr<const auth::Authenticator> test_authenticator() {
  static const auto shared = auth::Authenticator::create(testing::Identity::shared().settings()).value();
  return shared;
}

http::Response call(const http::Router& router, const std::string& method, const std::string& path,
                    const std::string& body, std::vector<http::Header> headers = {}) {
  auto match = router.match(method, path);
  REQUIRE(match.route != nullptr);
  return invoke(*match.route, match.params, method, path, body, std::move(headers));
}

// One event's effect inside `tx`, as the consumer's batch of one applies it.
core::Status apply_one(pg::Transaction& tx, const events::ConsumedEvent& event) {
  const events::ConsumedEvent* const one = &event;
  return apply_events(tx, std::span(&one, 1));
}

std::vector<core::TraceContext> traces(std::size_t n) {
  return std::vector<core::TraceContext>(n, core::TraceContext::generate());
}

}  // namespace

TEST_CASE("placing an order holds its stock, stores it PENDING_PAYMENT and announces it, in one transaction") {
  OrdersFixture f;
  f.product("seat", 10, 1500);
  f.product("poster", 5, 700);
  const auto order = f.placed("alice", {{"seat", 2, 1500}, {"poster", 1, 700}}, "SHIPPING");
  CHECK(order.status == OrderStatus::pending_payment);
  CHECK(order.total_amount == 3700);
  CHECK(f.status(order.id) == "PENDING_PAYMENT");
  CHECK(f.stock("seat", "held") == 2);
  CHECK(f.stock("poster", "held") == 1);

  auto stored = find_order(f.connection, order.id);
  REQUIRE(stored.ok());
  CHECK(contracts::same_lines((*stored)->items, order.items));
  CHECK((*stored)->expires_at == order.expires_at);

  auto row = f.connection.exec(
      "SELECT aggregateid, payload::text FROM outbox WHERE type = 'dev.paypipe.order.created.v1'");
  REQUIRE(row.ok());
  REQUIRE(row->size() == 1);
  CHECK(row->str(0, 0) == order.id);
  auto created = contracts::decode_order_created(row->str(0, 1));
  REQUIRE(created.ok());
  CHECK(created->total_amount == 3700);
  CHECK(created->expires_at == order.expires_at);
  CHECK(created->items.size() == 2);
}

TEST_CASE("refused orders leave no trace: unknown product, closed sale, changed price, no stock") {
  OrdersFixture f;
  f.product("seat", 1, 1500);
  REQUIRE(create_product(f.connection, ProductSpec{"later", "Later", 10, 5, core::now_ms() + 1h}, "KRW").ok());
  CHECK(f.place("alice", {{"nope", 1, 1}}).error().code == "product-not-found");
  CHECK(f.place("alice", {{"later", 1, 10}}).error().code == "sale-not-open");
  CHECK(f.place("alice", {{"seat", 1, 1400}}).error().code == "price-changed");
  CHECK(f.place("alice", {{"seat", 2, 1500}}).error().code == "out-of-stock");
  CHECK(f.count("SELECT count(*) FROM orders") == 0);
  CHECK(f.count("SELECT count(*) FROM outbox") == 0);
  CHECK(f.stock("seat", "held") == 0);
}

TEST_CASE("an Idempotency-Key gives the same order back, once, even to racing requests") {
  OrdersFixture f;
  f.product("seat", 100, 1000);
  auto first = f.place("alice", {{"seat", 2, 1000}}, "WAREHOUSE", "k1");
  REQUIRE(first.ok());
  CHECK_FALSE(first->replayed);
  auto again = f.place("alice", {{"seat", 2, 1000}}, "WAREHOUSE", "k1");
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->order.id == first->order.id);
  CHECK(again->order.created_at == first->order.created_at);
  auto other_body = f.place("alice", {{"seat", 3, 1000}}, "WAREHOUSE", "k1");
  REQUIRE_FALSE(other_body.ok());
  CHECK(other_body.error().category == core::ErrorCategory::unprocessable);
  // The key belongs to its user: bob's k1 is another order.
  auto bob = f.place("bob", {{"seat", 2, 1000}}, "WAREHOUSE", "k1");
  REQUIRE(bob.ok());
  CHECK(bob->order.id != first->order.id);

  std::vector<std::thread> racers;
  std::mutex mutex;
  std::set<std::string> ids;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    racers.emplace_back([&] {
      auto lease = f.pool.acquire();
      if (!lease) {
        ++failures;
        return;
      }
      auto r = place_order(**lease, OrderRequest{"carol", {{"seat", 1, 1000}}, "SHIPPING", "race"}, f.settings,
                           core::now_ms());
      if (!r) {
        ++failures;
        return;
      }
      std::lock_guard lock(mutex);
      ids.insert(r->order.id);
    });
  }
  for (auto& t : racers) t.join();
  CHECK(failures == 0);
  CHECK(ids.size() == 1);
  CHECK(f.count("SELECT count(*) FROM orders WHERE user_id = 'carol'") == 1);
  CHECK(f.stock("seat", "held") == 2 + 2 + 1);
}

TEST_CASE("200 concurrent orders for 50 units: exactly 50 succeed and nothing is oversold") {
  OrdersFixture f;
  f.product("flash", 50, 990);
  std::atomic<int> next{0}, placed{0}, sold_out{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 32; ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < 200; i = next++) {
        auto lease = f.pool.acquire();
        if (!lease) {
          ++other;
          continue;
        }
        auto r = place_order(**lease, OrderRequest{"user-" + std::to_string(i), {{"flash", 1, 990}}, "WAREHOUSE", {}},
                             f.settings, core::now_ms());
        if (r) ++placed;
        else if (r.error().code == "out-of-stock") ++sold_out;
        else ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(placed == 50);
  CHECK(sold_out == 150);
  CHECK(other == 0);
  CHECK(f.stock("flash", "held") == 50);
  CHECK(f.count("SELECT count(*) FROM orders") == 50);
  CHECK(f.count("SELECT count(*) FROM order_items") == 50);
  CHECK(f.outbox("order.created") == 50);
}

TEST_CASE("a batch of order requests shares one transaction and gives each its own answer") {
  OrdersFixture f;
  f.product("seat", 5, 100);
  f.product("pen", 100, 2);
  auto keyed = [](std::string user, std::vector<contracts::OrderItem> items, std::optional<std::string> key) {
    return OrderRequest{std::move(user), std::move(items), "SHIPPING", std::move(key)};
  };
  const std::vector<OrderRequest> requests{
      keyed("a", {{"seat", 3, 100}, {"pen", 1, 2}}, "k"),
      keyed("b", {{"seat", 3, 100}}, std::nullopt),  // 2 left
      keyed("c", {{"seat", 2, 100}}, std::nullopt),
      keyed("a", {{"seat", 3, 100}, {"pen", 1, 2}}, "k"),  // replays the first
      keyed("a", {{"pen", 9, 2}}, "k"),                    // the key with another request
      keyed("d", {{"ghost", 1, 1}}, std::nullopt),
      keyed("e", {{"pen", 1, 3}}, std::nullopt),  // wrong price
  };
  auto lease = f.pool.acquire();
  REQUIRE(lease.ok());
  const auto results = place_orders(**lease, requests, traces(requests.size()), f.settings, core::now_ms());
  REQUIRE(results.size() == requests.size());
  REQUIRE(results[0].ok());
  CHECK_FALSE(results[0]->replayed);
  CHECK(results[1].error().code == "out-of-stock");
  REQUIRE(results[2].ok());
  REQUIRE(results[3].ok());
  CHECK(results[3]->replayed);
  CHECK(results[3]->order.id == results[0]->order.id);
  CHECK(results[4].error().code == "idempotency-key-reused");
  CHECK(results[5].error().code == "product-not-found");
  CHECK(results[6].error().code == "price-changed");
  CHECK(f.count("SELECT count(*) FROM orders") == 2);
  CHECK(f.count("SELECT count(*) FROM order_items") == 3);
  CHECK(f.outbox("order.created") == 2);
  CHECK(f.stock("seat", "held") == 5);
  CHECK(f.stock("pen", "held") == 1);
  auto stored = find_order(f.connection, results[0]->order.id);
  REQUIRE(stored.ok());
  CHECK(contracts::same_lines((*stored)->items, requests[0].items));
  // The key was stored with the order: a later request with it replays.
  auto later = f.place("a", {{"seat", 3, 100}, {"pen", 1, 2}}, "SHIPPING", "k");
  REQUIRE(later.ok());
  CHECK(later->replayed);
}

TEST_CASE("batches racing for the last units fall back to one request at a time and never oversell") {
  OrdersFixture f;
  f.product("hot", 25, 10);
  std::atomic<int> placed{0}, refused{0}, other{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back([&, w] {
      for (int b = 0; b < 5; ++b) {
        std::vector<OrderRequest> batch;
        for (int i = 0; i < 8; ++i) {
          batch.push_back(OrderRequest{"u" + std::to_string(w * 100 + b * 10 + i), {{"hot", 1, 10}}, "WAREHOUSE", {}});
        }
        auto lease = f.pool.acquire();
        if (!lease) {
          other += 8;
          continue;
        }
        for (const auto& r : place_orders(**lease, batch, traces(batch.size()), f.settings, core::now_ms())) {
          if (r) ++placed;
          else if (r.error().code == "out-of-stock") ++refused;
          else ++other;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  CHECK(placed == 25);
  CHECK(refused == 6 * 5 * 8 - 25);
  CHECK(other == 0);
  CHECK(f.stock("hot", "held") == 25);
  CHECK(f.count("SELECT count(*) FROM orders") == 25);
  CHECK(f.outbox("order.created") == 25);
}

TEST_CASE("200 concurrent requests through the batching HTTP handler for 50 units: exactly 50 orders") {
  OrdersFixture f;
  f.product("flash", 50, 990);
  Config config;
  config.workers = 4;
  config.batch_size = 16;
  ExpirySweeper sweeper(f.pool, config.expiry);
  OrderApi api(config, f.pool, sweeper, test_authenticator());
  http::Router router;
  api.add_routes(router);
  const auto match = router.match("POST", "/v1/orders");
  REQUIRE(match.route != nullptr);
  std::atomic<int> created{0}, conflicts{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 200; ++c) {
    clients.emplace_back([&, c] {
      const auto r = invoke(
          *match.route, {}, "POST", "/v1/orders",
          R"({"userId":"u)" + std::to_string(c) +
              R"(","items":[{"productId":"flash","quantity":1,"unitPrice":990}],"fulfilment":"WAREHOUSE"})",
          {testing::bearer("u" + std::to_string(c))});
      if (r.status == 201) ++created;
      else if (r.status == 409) ++conflicts;
      else ++other;
    });
  }
  for (auto& t : clients) t.join();
  CHECK(created == 50);
  CHECK(conflicts == 150);
  CHECK(other == 0);
  CHECK(f.stock("flash", "held") == 50);
  CHECK(f.count("SELECT count(*) FROM orders") == 50);
  CHECK(f.outbox("order.created") == 50);
}

TEST_CASE("orders holding several products in opposite orders never deadlock") {
  OrdersFixture f;
  f.product("a", 1000, 1);
  f.product("b", 1000, 1);
  f.product("c", 1000, 1);
  std::atomic<int> placed{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 15; ++i) {
        std::vector<contracts::OrderItem> items{{"a", 1, 1}, {"b", 1, 1}, {"c", 1, 1}};
        if (c % 2) std::reverse(items.begin(), items.end());
        auto lease = f.pool.acquire();
        if (!lease) {
          ++failed;
          continue;
        }
        // No Catch2 assertion here: it is not thread-safe. A deadlock would surface as a failure.
        auto r = place_order(**lease, OrderRequest{"u", items, "SHIPPING", {}}, f.settings, core::now_ms());
        r ? ++placed : ++failed;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(placed == 180);
  CHECK(f.stock("a", "held") == 180);
  CHECK(f.stock("c", "held") == 180);
}

TEST_CASE("payment.completed fulfils a warehouse order once, however often it is delivered") {
  OrdersFixture f;
  f.product("seat", 10, 1000);
  const auto order = f.placed("alice", {{"seat", 3, 1000}}, "WAREHOUSE");
  const auto payment = core::new_uuid_v7();
  const auto event_id = core::new_uuid_v7();
  REQUIRE(f.apply("payment.completed", f.paid(order, payment), event_id).succeeded());
  CHECK(f.status(order.id) == "COMPLETED");
  CHECK(f.stock("seat", "held") == 0);
  CHECK(f.stock("seat", "sold") == 3);
  CHECK(f.outbox("order.completed") == 1);

  // Redelivered (same event id), then republished (a new id): nothing more happens.
  REQUIRE(f.apply("payment.completed", f.paid(order, payment), event_id).succeeded());
  REQUIRE(f.apply("payment.completed", f.paid(order, payment)).succeeded());
  CHECK(f.status(order.id) == "COMPLETED");
  CHECK(f.stock("seat", "sold") == 3);
  CHECK(f.outbox("order.completed") == 1);
  CHECK(f.outbox("payment.refund-requested") == 0);

  auto row = f.connection.exec(
      "SELECT payload->>'paymentId', payload->>'userId', (payload->>'totalAmount')::bigint "
      "FROM outbox WHERE type = 'dev.paypipe.order.completed.v1'");
  REQUIRE(row.ok());
  CHECK(row->str(0, 0) == payment);
  CHECK(row->str(0, 1) == "alice");
  CHECK(row->integer(0, 2) == 3000);
  // Its lines name the products, for the user's message.
  auto name = f.connection.exec(
      "SELECT payload->'items'->0->>'name' FROM outbox WHERE type = 'dev.paypipe.order.completed.v1'");
  REQUIRE(name.ok());
  CHECK(name->str(0, 0) == "Product seat");
}

TEST_CASE("a ticket's order events carry the event's date and venue as its product gives them") {
  OrdersFixture f;
  const ProductSpec gig{"gig",
                        "Concert A",
                        1000,
                        10,
                        core::now_ms() - 1h,
                        std::string("2026-12-24T19:30:00+09:00"),
                        std::string("Olympic Hall")};
  auto created = create_product(f.connection, gig, "KRW");
  REQUIRE(created.ok());
  CHECK(created->product.event_date == "2026-12-24T19:30:00+09:00");
  CHECK(create_product(f.connection, gig, "KRW")->created == false);  // the same product again
  auto moved = gig;
  moved.venue = "Another Hall";
  REQUIRE_FALSE(create_product(f.connection, moved, "KRW").ok());  // other values: a conflict

  const auto order = f.placed("alice", {{"gig", 2, 1000}}, "WAREHOUSE");
  REQUIRE(f.apply("payment.completed", f.paid(order, core::new_uuid_v7())).succeeded());
  auto line = f.connection.exec(
      "SELECT payload->'items'->0->>'name', payload->'items'->0->>'eventDate', payload->'items'->0->>'venue' "
      "FROM outbox WHERE type = 'dev.paypipe.order.completed.v1'");
  REQUIRE(line.ok());
  CHECK(line->str(0, 0) == "Concert A");
  CHECK(line->str(0, 1) == "2026-12-24T19:30:00+09:00");
  CHECK(line->str(0, 2) == "Olympic Hall");
}

TEST_CASE("a shipping order stops at PREPARING and is advanced by the fulfilment endpoint") {
  OrdersFixture f;
  f.product("seat", 10, 1000);
  const auto order = f.placed("alice", {{"seat", 1, 1000}}, "SHIPPING");
  REQUIRE(f.apply("payment.completed", f.paid(order, core::new_uuid_v7())).succeeded());
  CHECK(f.status(order.id) == "PREPARING");
  CHECK(f.outbox("order.completed") == 1);

  Config config;
  config.admin_token = "secret";
  ExpirySweeper sweeper(f.pool, config.expiry);
  OrderApi api(config, f.pool, sweeper, test_authenticator());
  http::Router router;
  api.add_routes(router);
  const std::vector<http::Header> admin{{"authorization", "Bearer secret"}};
  const auto path = "/v1/orders/" + order.id + "/fulfilment";
  CHECK(call(router, "POST", path, R"({"status":"IN_TRANSIT"})", admin).status == 409);  // a step skipped
  CHECK(call(router, "POST", path, R"({"status":"SHIPMENT_STARTED"})").status == 401);
  CHECK(call(router, "POST", path, R"({"status":"SHIPMENT_STARTED"})", {{"authorization", "Bearer wrong"}}).status ==
        403);
  for (const auto* step : {"SHIPMENT_STARTED", "IN_TRANSIT", "COMPLETED"}) {
    auto r = call(router, "POST", path, std::string(R"({"status":")") + step + "\"}", admin);
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(f.status(order.id) == step);
  }
  CHECK(call(router, "POST", path, R"({"status":"COMPLETED"})", admin).status == 200);  // retried: no-op
  auto body = core::json::parse(
      call(router, "GET", "/v1/orders/" + order.id, "", {testing::bearer(order.user_id)}).body);
  REQUIRE(body.ok());
  CHECK((*body)["progress"].GetInt() == 100);
}

TEST_CASE("payment.failed cancels the order and releases its hold, once") {
  OrdersFixture f;
  f.product("seat", 5, 1000);
  const auto order = f.placed("bob", {{"seat", 5, 1000}});
  CHECK(f.place("carol", {{"seat", 1, 1000}}).error().code == "out-of-stock");
  const auto data = f.failed(order);
  REQUIRE(f.apply("payment.failed", data).succeeded());
  REQUIRE(f.apply("payment.failed", data).succeeded());  // republished with a new id
  CHECK(f.status(order.id) == "CANCELLED");
  CHECK(f.stock("seat", "held") == 0);
  CHECK(f.outbox("order.cancelled") == 1);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE payload->>'reason' = 'PAYMENT_FAILED'") == 1);
  CHECK(f.place("carol", {{"seat", 1, 1000}}).ok());
}

TEST_CASE("a redelivery after a crash anywhere in the handler leaves exactly one effect") {
  // The handler's transaction dies at each point (the connection is killed before the
  // commit); then the event is delivered again and must apply exactly once.
  enum class CrashAt { after_marking, after_locking, after_applying };
  for (const auto crash : {CrashAt::after_marking, CrashAt::after_locking, CrashAt::after_applying}) {
    OrdersFixture f;
    f.product("seat", 4, 1000);
    const auto order = f.placed("dave", {{"seat", 4, 1000}});
    const auto event_id = core::new_uuid_v7();
    const auto event = OrdersFixture::consumed("payment.completed", f.paid(order, core::new_uuid_v7()), event_id);
    {
      auto doomed = testing::connect(f.schema);
      const auto pid = doomed.backend_pid();
      auto tx = pg::Transaction::begin(doomed);
      REQUIRE(tx.ok());
      REQUIRE(events::mark_processed(*tx, "order-processor", event_id).ok());
      if (crash != CrashAt::after_marking) REQUIRE(lock_order(*tx, order.id).ok());
      if (crash == CrashAt::after_applying) REQUIRE(apply_one(*tx, event).ok());
      REQUIRE(f.connection.exec("SELECT pg_terminate_backend($1)", static_cast<std::int64_t>(pid)).ok());
      CHECK_FALSE(tx->commit().ok());
    }
    CHECK(f.status(order.id) == "PENDING_PAYMENT");
    CHECK(f.outbox("order.completed") == 0);
    CHECK(f.count("SELECT count(*) FROM processed_events") == 0);

    const std::vector<events::ConsumedEvent> batch{event};
    for (int delivery = 0; delivery < 2; ++delivery) {
      REQUIRE(
          events::apply_exactly_once(f.pool, "order-processor", batch, apply_events, "order-processor")[0].succeeded());
    }
    CHECK(f.status(order.id) == "COMPLETED");
    CHECK(f.stock("seat", "sold") == 4);
    CHECK(f.stock("seat", "held") == 0);
    CHECK(f.outbox("order.completed") == 1);
    CHECK(f.outbox("product.sold-out") == 1);
  }
}

namespace {

// One schema of the batch-versus-one-by-one comparison: the same products and orders,
// and the same payment results for them (the order ids differ: orders are named by
// their position).
struct PaymentScene {
  OrdersFixture f;
  std::vector<Order> orders;
  std::vector<events::ConsumedEvent> results;

  PaymentScene() {
    f.product("seat", 100, 1000);
    f.product("rare", 2, 500);  // the batch sells its last units
    orders.push_back(f.placed("u0", {{"seat", 2, 1000}}));
    orders.push_back(f.placed("u1", {{"seat", 1, 1000}}));
    orders.push_back(f.placed("u2", {{"rare", 2, 500}}));
    orders.push_back(f.placed("u3", {{"seat", 3, 1000}}, "SHIPPING"));
    orders.push_back(f.placed("u4", {{"seat", 1, 1000}}));
    const auto pay = [&](std::size_t i) {
      return OrdersFixture::consumed("payment.completed", f.paid(orders[i], core::new_uuid_v7()), core::new_uuid_v7());
    };
    const auto fail = [&](std::size_t i) {
      return OrdersFixture::consumed("payment.failed", f.failed(orders[i]), core::new_uuid_v7());
    };
    const auto first = pay(0);
    results.push_back(first);
    results.push_back(fail(1));
    results.push_back(pay(2));  // rare: its last units, product.sold-out
    results.push_back(first);   // redelivered within the batch: nothing more
    results.push_back(pay(3));
    results.push_back(fail(3));  // a late failure of a paid order: nothing
    results.push_back(fail(4));
    const auto late = pay(4);  // a payment after the cancel: its refund is asked for
    results.push_back(late);
    const auto paid = contracts::decode_payment_completed(late.event.data).value();
    results.push_back(OrdersFixture::consumed(
        "payment.refunded",
        contracts::encode(contracts::PaymentRefunded{paid.payment_id, orders[4].id, "u4", paid.amount, paid.currency,
                                                     core::now_rfc3339()}),
        core::new_uuid_v7()));
  }

  // Each order's row and events (types in outbox order, with the reasons they carry),
  // each product's counters, and the products announced sold out: by position, without
  // ids or times.
  std::vector<std::string> outcome() {
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < orders.size(); ++i) {
      auto row = f.connection.exec(
          "SELECT status, coalesce(cancel_reason, '-'), coalesce(refund_reason, '-'), "
          "(payment_id IS NOT NULL)::text, (paid_at IS NOT NULL)::text, "
          "(SELECT string_agg(type || ':' || coalesce(payload->>'reason', '-'), ',' ORDER BY seq) "
          "FROM outbox WHERE aggregateid = $1::text) FROM orders WHERE id::text = $1::text",
          orders[i].id);
      REQUIRE(row.ok());
      REQUIRE(row->size() == 1);
      std::string line = std::to_string(i);
      for (int c = 0; c < 6; ++c) line += " " + row->str(0, c);
      seen.push_back(line);
    }
    auto products = f.connection.exec(
        "SELECT id || ' held=' || held || ' sold=' || sold || ' soldOut=' || (sold_out_at IS NOT NULL)::text || "
        "' events=' || (SELECT count(*) FROM outbox o WHERE o.aggregateid = p.id AND o.aggregatetype = 'product') "
        "FROM products p ORDER BY id");
    REQUIRE(products.ok());
    for (int i = 0; i < products->size(); ++i) seen.push_back(products->str(i, 0));
    return seen;
  }
};

// The statements a batch of payment results costs, on a pool of one connection.
std::size_t statements_for(pg::Pool& one, std::span<const events::ConsumedEvent> batch) {
  return testing::statements_sent(one, [&] {
    const auto outcomes = events::apply_exactly_once(one, "order-processor", batch, apply_events, "order-processor");
    for (const auto& outcome : outcomes) REQUIRE(outcome.succeeded());
  });
}

}  // namespace

TEST_CASE("a batch of payment results leaves the states and events of applying them one by one") {
  PaymentScene one_by_one, together;
  for (const auto& result : one_by_one.results) {
    const std::vector<events::ConsumedEvent> batch{result};
    REQUIRE(events::apply_exactly_once(one_by_one.f.pool, "order-processor", batch, apply_events, "order-processor")[0]
                .succeeded());
  }
  for (const auto& outcome : events::apply_exactly_once(together.f.pool, "order-processor", together.results,
                                                        apply_events, "order-processor")) {
    REQUIRE(outcome.succeeded());
  }
  const auto expected = one_by_one.outcome();
  CHECK(together.outcome() == expected);
  // What the scene is meant to show, spelled out once.
  CHECK(expected[0] == "0 COMPLETED - - true true dev.paypipe.order.created.v1:-,dev.paypipe.order.completed.v1:-");
  CHECK(expected[4] ==
        "4 REFUNDED PAYMENT_FAILED ORDER_CANCELLED true false dev.paypipe.order.created.v1:-,"
        "dev.paypipe.order.cancelled.v1:PAYMENT_FAILED,dev.paypipe.payment.refund-requested.v1:ORDER_CANCELLED,"
        "dev.paypipe.order.refunded.v1:ORDER_CANCELLED");
  CHECK(expected[5] == "rare held=0 sold=2 soldOut=true events=1");
  CHECK(expected[6] == "seat held=0 sold=5 soldOut=false events=0");

  // Redelivered whole: nothing more.
  for (const auto& outcome : events::apply_exactly_once(together.f.pool, "order-processor", together.results,
                                                        apply_events, "order-processor")) {
    REQUIRE(outcome.succeeded());
  }
  CHECK(together.outcome() == expected);
}

TEST_CASE("a batch of payment results costs the same statements whatever its size") {
  OrdersFixture f;
  f.product("seat", 1000, 10);
  pg::Pool one{pg::PoolOptions{testing::pg_options(f.schema), 1, 30000ms}};
  const auto batch_of = [&](std::size_t n) {
    std::vector<events::ConsumedEvent> batch;
    for (std::size_t i = 0; i < n; ++i) {
      const auto order = f.placed("u" + std::to_string(i), {{"seat", 1, 10}});
      batch.push_back(OrdersFixture::consumed(i % 2 ? "payment.failed" : "payment.completed",
                                              i % 2 ? f.failed(order) : f.paid(order, core::new_uuid_v7()),
                                              core::new_uuid_v7()));
    }
    return batch;
  };
  const auto two = statements_for(one, batch_of(2));
  const auto fifty = statements_for(one, batch_of(50));
  CHECK(fifty == two);
  // BEGIN, the processed-event marks, the orders locked, their update, the products
  // locked, the sale, the release, the sold-out check, the outbox insert, COMMIT.
  CHECK(two == 10);
  CHECK(f.stock("seat", "sold") == 26);
  CHECK(f.stock("seat", "held") == 0);
  CHECK(f.outbox("order.completed") == 26);
  CHECK(f.outbox("order.cancelled") == 26);
}

TEST_CASE("a payment result for an unknown order in a batch goes to the dead letters alone") {
  OrdersFixture f;
  f.product("seat", 10, 1000);
  const auto paid = f.placed("u0", {{"seat", 1, 1000}});
  const auto failed = f.placed("u1", {{"seat", 1, 1000}});
  Order stranger = paid;
  stranger.id = core::new_uuid_v7();
  const std::vector<events::ConsumedEvent> batch{
      OrdersFixture::consumed("payment.completed", f.paid(paid, core::new_uuid_v7()), core::new_uuid_v7()),
      OrdersFixture::consumed("payment.completed", f.paid(stranger, core::new_uuid_v7()), core::new_uuid_v7()),
      OrdersFixture::consumed("payment.failed", f.failed(failed), core::new_uuid_v7())};
  const auto outcomes = events::apply_exactly_once(f.pool, "order-processor", batch, apply_events, "order-processor");
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].succeeded());
  CHECK(outcomes[1].kind == events::Outcome::Kind::fatal);
  CHECK(outcomes[2].succeeded());
  CHECK(f.status(paid.id) == "COMPLETED");
  CHECK(f.status(failed.id) == "CANCELLED");
  CHECK(f.count("SELECT count(*) FROM processed_events") == 2);
}

TEST_CASE("product.sold-out is emitted once per product, by whichever payment sells the last unit") {
  OrdersFixture f;
  f.product("rare", 6, 100);
  std::vector<Order> orders;
  for (int i = 0; i < 6; ++i) orders.push_back(f.placed("u" + std::to_string(i), {{"rare", 1, 100}}));
  // Payments applied by three consumers at once (separate transactions), each twice.
  std::vector<std::thread> consumers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&, c] {
      for (int i = c; i < 6; i += 3) {
        const auto data = f.paid(orders[i], core::new_uuid_v7());
        for (int d = 0; d < 2; ++d) {
          if (!f.apply("payment.completed", data).succeeded()) ++failures;
        }
      }
    });
  }
  for (auto& t : consumers) t.join();
  CHECK(failures == 0);
  CHECK(f.stock("rare", "sold") == 6);
  CHECK(f.outbox("order.completed") == 6);
  REQUIRE(f.outbox("product.sold-out") == 1);
  auto row = f.connection.exec(
      "SELECT aggregateid, aggregatetype, payload::text FROM outbox WHERE type = 'dev.paypipe.product.sold-out.v1'");
  REQUIRE(row.ok());
  CHECK(row->str(0, 0) == "rare");
  CHECK(row->str(0, 1) == "product");
  auto sold_out = contracts::decode_product_sold_out(row->str(0, 2));
  REQUIRE(sold_out.ok());
  CHECK(sold_out->total_stock == 6);
  CHECK(sold_out->name == "Product rare");
  auto product = find_product(f.connection, "rare");
  REQUIRE(product.ok());
  CHECK((*product)->sold_out_at == sold_out->sold_out_at);
  CHECK(core::format_rfc3339((*product)->sale_opens_at) == sold_out->sale_opens_at);
}

TEST_CASE("a payment for a cancelled or expired order is refunded: the saga's order side") {
  OrdersFixture f;
  f.product("seat", 10, 1000);
  const auto cancelled = f.placed("erin", {{"seat", 2, 1000}});
  const auto expired = f.placed("erin", {{"seat", 3, 1000}});

  auto lease = f.pool.acquire();
  REQUIRE(lease.ok());
  auto tx = pg::Transaction::begin(**lease);
  REQUIRE(tx.ok());
  auto locked = lock_order(*tx, cancelled.id);
  REQUIRE(locked.ok());
  auto decision = decide_user_cancel(**locked, "erin");
  REQUIRE(decision.ok());
  REQUIRE(apply_decision(*tx, **locked, *decision, std::nullopt, core::now_ms()).ok());
  REQUIRE(tx->commit().ok());
  REQUIRE(expire_batch(f.connection, core::now_ms() + 11min, 10, core::now_ms()).value() == 1);
  CHECK(f.status(expired.id) == "EXPIRED");
  CHECK(f.stock("seat", "held") == 0);

  const auto pay_cancelled = core::new_uuid_v7(), pay_expired = core::new_uuid_v7();
  REQUIRE(f.apply("payment.completed", f.paid(cancelled, pay_cancelled)).succeeded());
  REQUIRE(f.apply("payment.completed", f.paid(expired, pay_expired)).succeeded());
  REQUIRE(f.apply("payment.completed", f.paid(expired, pay_expired)).succeeded());  // republished
  CHECK(f.status(cancelled.id) == "REFUND_REQUESTED");
  CHECK(f.status(expired.id) == "REFUND_REQUESTED");
  CHECK(f.stock("seat", "held") == 0);
  CHECK(f.stock("seat", "sold") == 0);
  CHECK(f.outbox("order.completed") == 0);
  REQUIRE(f.outbox("payment.refund-requested") == 2);
  auto rows = f.connection.exec(
      "SELECT aggregateid, payload::text FROM outbox WHERE type = 'dev.paypipe.payment.refund-requested.v1'");
  REQUIRE(rows.ok());
  for (int i = 0; i < rows->size(); ++i) {
    auto request = contracts::decode_payment_refund_requested(rows->str(i, 1));
    REQUIRE(request.ok());
    CHECK(rows->str(i, 0) == request->order_id);
    if (request->order_id == cancelled.id) {
      CHECK(request->reason == "ORDER_CANCELLED");
      CHECK(request->payment_id == pay_cancelled);
      CHECK(request->amount == 2000);
    } else {
      CHECK(request->reason == "ORDER_EXPIRED");
      CHECK(request->payment_id == pay_expired);
    }
  }

  const contracts::PaymentRefunded refunded{pay_expired, expired.id, "erin", 3000, "KRW", core::now_rfc3339()};
  REQUIRE(f.apply("payment.refunded", contracts::encode(refunded)).succeeded());
  REQUIRE(f.apply("payment.refunded", contracts::encode(refunded)).succeeded());
  CHECK(f.status(expired.id) == "REFUNDED");
  CHECK(f.status(cancelled.id) == "REFUND_REQUESTED");
}

namespace {

struct RefundApi {
  Config config;
  ExpirySweeper sweeper;
  OrderApi api;
  http::Router router;

  RefundApi(OrdersFixture& f, std::chrono::milliseconds window = std::chrono::hours(24))
      : config(with_window(window)),
        sweeper(f.pool, config.expiry),
        api(config, f.pool, sweeper, test_authenticator()) {
    api.add_routes(router);
  }
  static Config with_window(std::chrono::milliseconds window) {
    Config c;
    c.admin_token = "secret";
    c.refund_window = window;
    return c;
  }
  http::Response user_refund(const std::string& order_id, const std::string& user) {
    return call(router, "POST", "/v1/orders/" + order_id + "/refund", "", {testing::bearer(user)});
  }
  http::Response admin_refund(const std::string& order_id) {
    return call(router, "POST", "/v1/admin/orders/" + order_id + "/refund", "", {{"authorization", "Bearer secret"}});
  }
};

std::string field(const http::Response& r, const char* name) {
  auto doc = core::json::parse(r.body);
  REQUIRE(doc.ok());
  return (*doc)[name].IsString() ? (*doc)[name].GetString() : "";
}

}  // namespace

TEST_CASE("a user's refund before shipping: units back on sale, one refund however often it is asked, order.refunded") {
  OrdersFixture f;
  REQUIRE(create_product(f.connection,
                         ProductSpec{"gig", "Gig", 1000, 3, core::now_ms() - 1h, std::string("2026-12-24")}, "KRW")
              .ok());
  const auto order = f.placed("alice", {{"gig", 3, 1000}}, "SHIPPING");
  const auto payment = core::new_uuid_v7();
  REQUIRE(f.apply("payment.completed", f.paid(order, payment)).succeeded());
  CHECK(f.status(order.id) == "PREPARING");
  CHECK(f.count("SELECT count(*) FROM products WHERE id = 'gig' AND sold_out_at IS NOT NULL") == 1);
  // product.sold-out and order.completed carry the product's event date.
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.product.sold-out.v1' "
                "AND payload->>'eventDate' = '2026-12-24'") == 1);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.order.completed.v1' "
                "AND payload->'items'->0->>'eventDate' = '2026-12-24'") == 1);

  RefundApi api(f);
  CHECK(api.user_refund(order.id, "mallory").status == 404);  // another user's order is not shown
  CHECK(f.status(order.id) == "PREPARING");

  // Eight asks at once (a double click, a retry): one refund.
  std::vector<std::future<http::Response>> asks;
  for (int i = 0; i < 8; ++i) {
    asks.push_back(std::async(std::launch::async, [&] { return api.user_refund(order.id, "alice"); }));
  }
  for (auto& ask : asks) {
    const auto r = ask.get();
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(field(r, "status") == "REFUND_REQUESTED");
    CHECK(field(r, "refundReason") == "USER_REQUESTED");
  }
  CHECK(f.outbox("payment.refund-requested") == 1);
  CHECK(f.stock("gig", "sold") == 0);
  CHECK(f.stock("gig", "held") == 0);
  CHECK(f.count("SELECT count(*) FROM products WHERE id = 'gig' AND sold_out_at IS NULL") == 1);  // on sale again
  auto request = f.connection.exec(
      "SELECT payload::text FROM outbox WHERE type = 'dev.paypipe.payment.refund-requested.v1'");
  REQUIRE(request.ok());
  auto asked = contracts::decode_payment_refund_requested(request->str(0, 0));
  REQUIRE(asked.ok());
  CHECK(asked->payment_id == payment);
  CHECK(asked->amount == 3000);
  CHECK(asked->reason == "USER_REQUESTED");

  // payment-api's answer, delivered twice: REFUNDED and one order.refunded.
  const contracts::PaymentRefunded refunded{payment, order.id, "alice", 3000, "KRW", core::now_rfc3339()};
  REQUIRE(f.apply("payment.refunded", contracts::encode(refunded)).succeeded());
  REQUIRE(f.apply("payment.refunded", contracts::encode(refunded)).succeeded());
  CHECK(f.status(order.id) == "REFUNDED");
  REQUIRE(f.outbox("order.refunded") == 1);
  auto done = f.connection.exec(
      "SELECT aggregateid, payload::text FROM outbox WHERE type = 'dev.paypipe.order.refunded.v1'");
  REQUIRE(done.ok());
  CHECK(done->str(0, 0) == order.id);
  auto event = contracts::decode_order_refunded(done->str(0, 1));
  REQUIRE(event.ok());
  CHECK(event->reason == "USER_REQUESTED");
  CHECK(event->payment_id == payment);
  CHECK(event->total_amount == 3000);
  REQUIRE(event->items.size() == 1);
  CHECK(event->items[0].event_date == "2026-12-24");

  // Asked again after the saga: the answer is the refunded order, nothing moves.
  const auto again = api.user_refund(order.id, "alice");
  CHECK(again.status == 200);
  CHECK(field(again, "status") == "REFUNDED");
  CHECK(f.outbox("payment.refund-requested") == 1);
  CHECK(f.stock("gig", "sold") == 0);

  // The units are on sale again and sell out anew.
  const auto second = f.placed("bob", {{"gig", 3, 1000}}, "WAREHOUSE");
  REQUIRE(f.apply("payment.completed", f.paid(second, core::new_uuid_v7())).succeeded());
  CHECK(f.outbox("product.sold-out") == 2);
}

TEST_CASE("a shipped order is refunded by an admin only; the window closes users' refunds; unpaid is a conflict") {
  OrdersFixture f;
  f.product("seat", 10, 1000);
  const auto shipped = f.placed("alice", {{"seat", 2, 1000}}, "SHIPPING");
  REQUIRE(f.apply("payment.completed", f.paid(shipped, core::new_uuid_v7())).succeeded());
  const auto unpaid = f.placed("alice", {{"seat", 1, 1000}}, "SHIPPING");
  const auto preparing = f.placed("alice", {{"seat", 1, 1000}}, "SHIPPING");
  REQUIRE(f.apply("payment.completed", f.paid(preparing, core::new_uuid_v7())).succeeded());

  RefundApi api(f);
  const std::vector<http::Header> admin{{"authorization", "Bearer secret"}};
  REQUIRE(
      call(api.router, "POST", "/v1/orders/" + shipped.id + "/fulfilment", R"({"status":"SHIPMENT_STARTED"})", admin)
          .status == 200);
  const auto by_user = api.user_refund(shipped.id, "alice");
  CHECK(by_user.status == 409);
  CHECK(by_user.body.find("order-not-refundable") != std::string::npos);
  CHECK(api.user_refund(unpaid.id, "alice").status == 409);
  CHECK(api.admin_refund(unpaid.id).status == 409);
  CHECK(call(api.router, "POST", "/v1/admin/orders/" + shipped.id + "/refund", "", {testing::bearer("alice")}).status ==
        403);  // a user token is not the admin token

  const auto by_admin = api.admin_refund(shipped.id);
  INFO(by_admin.body);
  CHECK(by_admin.status == 200);
  CHECK(field(by_admin, "refundReason") == "ADMIN_REFUND");
  CHECK(api.admin_refund(shipped.id).status == 200);  // retried: the same refund
  CHECK(f.outbox("payment.refund-requested") == 1);
  CHECK(f.stock("seat", "sold") == 1);  // the preparing order's unit only

  RefundApi closed(f, std::chrono::milliseconds(0));
  const auto late = closed.user_refund(preparing.id, "alice");
  CHECK(late.status == 409);
  CHECK(late.body.find("refund-window-closed") != std::string::npos);
  CHECK(f.status(preparing.id) == "PREPARING");
}

TEST_CASE("two sweepers at once expire every due order exactly once and release every hold") {
  OrdersFixture f;
  f.product("seat", 1000, 10);
  f.product("poster", 1000, 5);
  for (int i = 0; i < 150; ++i) f.placed("u" + std::to_string(i), {{"seat", 2, 10}, {"poster", 1, 5}});
  f.settings.ttl = 1h;
  const auto later = f.placed("patient", {{"seat", 1, 10}});
  REQUIRE(f.stock("seat", "held") == 301);

  const auto deadline = core::now_ms() + 30min;  // past the 10 min orders, before the 1 h one
  std::atomic<std::size_t> expired{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> sweepers;
  for (int s = 0; s < 2; ++s) {
    sweepers.emplace_back([&] {
      auto connection = testing::connect(f.schema);
      for (;;) {
        auto n = expire_batch(connection, deadline, 7, core::now_ms());
        if (!n) {
          ++failures;
          return;
        }
        if (*n == 0) return;
        expired += *n;
      }
    });
  }
  for (auto& t : sweepers) t.join();
  CHECK(failures == 0);
  CHECK(expired == 150);
  CHECK(f.count("SELECT count(*) FROM orders WHERE status = 'EXPIRED' AND cancel_reason = 'EXPIRED'") == 150);
  CHECK(f.outbox("order.cancelled") == 150);
  CHECK(f.count("SELECT count(DISTINCT aggregateid) FROM outbox WHERE type = 'dev.paypipe.order.cancelled.v1'") == 150);
  CHECK(f.stock("seat", "held") == 1);
  CHECK(f.stock("poster", "held") == 0);
  CHECK(f.status(later.id) == "PENDING_PAYMENT");
  CHECK(expire_batch(f.connection, deadline, 7, core::now_ms()).value() == 0);
}

TEST_CASE("the sweep skips an order a payment is being applied to, and the payment wins") {
  OrdersFixture f;
  f.product("seat", 10, 10);
  const auto order = f.placed("gus", {{"seat", 1, 10}});
  auto lease = f.pool.acquire();
  REQUIRE(lease.ok());
  auto tx = pg::Transaction::begin(**lease);
  REQUIRE(tx.ok());
  REQUIRE(apply_one(*tx, OrdersFixture::consumed("payment.completed", f.paid(order, core::new_uuid_v7()),
                                                 core::new_uuid_v7()))
              .ok());
  // The consumer's transaction holds the order: the sweeper neither waits nor expires it.
  CHECK(expire_batch(f.connection, core::now_ms() + 1h, 10, core::now_ms()).value() == 0);
  REQUIRE(tx->commit().ok());
  CHECK(f.status(order.id) == "COMPLETED");
  CHECK(expire_batch(f.connection, core::now_ms() + 1h, 10, core::now_ms()).value() == 0);
  CHECK(f.outbox("order.cancelled") == 0);
}

TEST_CASE("the periodic sweeper expires due orders on its own and stops promptly") {
  OrdersFixture f;
  f.product("seat", 10, 10);
  f.settings.ttl = 100ms;
  const auto order = f.placed("hal", {{"seat", 4, 10}});
  ExpirySweeper sweeper(f.pool, ExpirySettings{20ms, 0ms, 100});
  sweeper.start();
  CHECK(testing::eventually([&] { return f.status(order.id) == "EXPIRED"; }, 10s));
  const auto started = std::chrono::steady_clock::now();
  sweeper.stop();
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(f.stock("seat", "held") == 0);
}

TEST_CASE("products are created once by an admin; the same again is a no-op, other values a conflict") {
  OrdersFixture f;
  Config config;
  config.admin_token = "secret";
  ExpirySweeper sweeper(f.pool, config.expiry);
  OrderApi api(config, f.pool, sweeper, test_authenticator());
  http::Router router;
  api.add_routes(router);
  const std::vector<http::Header> admin{{"authorization", "Bearer secret"}};
  const std::string body =
      R"({"productId":"gig:1","name":"Gig","unitPrice":5000,"totalStock":3,"saleOpensAt":"2020-01-01T00:00:00Z"})";
  CHECK(call(router, "POST", "/v1/products", body).status == 401);
  CHECK(call(router, "POST", "/v1/products", body, {{"authorization", "Bearer nope"}}).status == 403);
  auto created = call(router, "POST", "/v1/products", body, admin);
  INFO(created.body);
  CHECK(created.status == 201);
  CHECK(call(router, "POST", "/v1/products", body, admin).status == 200);
  auto changed = call(
      router, "POST", "/v1/products",
      R"({"productId":"gig:1","name":"Gig","unitPrice":5000,"totalStock":4,"saleOpensAt":"2020-01-01T00:00:00Z"})",
      admin);
  CHECK(changed.status == 409);
  CHECK(changed.content_type == "application/problem+json");

  const std::vector<http::Header> ann{testing::bearer("ann")}, bob{testing::bearer("bob")};
  const std::string items =
      R"("items":[{"productId":"gig:1","quantity":2,"unitPrice":5000}],"fulfilment":"WAREHOUSE"})";
  CHECK(call(router, "POST", "/v1/orders", "{" + items).status == 401);
  CHECK(call(router, "POST", "/v1/orders", R"({"userId":"bob",)" + items, ann).status == 403);  // not the token's user
  auto placed = call(router, "POST", "/v1/orders", "{" + items, ann);  // the user comes from the token
  CHECK(placed.status == 201);
  CHECK(call(router, "GET", "/v1/products/gig:1", "").status == 401);
  auto product = core::json::parse(call(router, "GET", "/v1/products/gig:1", "", bob).body);
  REQUIRE(product.ok());
  CHECK((*product)["stock"]["held"].GetInt64() == 2);
  CHECK((*product)["stock"]["available"].GetInt64() == 1);
  CHECK(call(router, "GET", "/v1/products/none", "", bob).status == 404);

  auto order = core::json::parse(placed.body);
  REQUIRE(order.ok());
  const std::string id = (*order)["orderId"].GetString();
  CHECK((*order)["userId"].GetString() == std::string("ann"));
  // Another user sees no such order, and cannot cancel it.
  const auto peek = call(router, "GET", "/v1/orders/" + id, "", bob);
  CHECK(peek.status == 404);
  CHECK(peek.body.find("ann") == std::string::npos);
  CHECK(call(router, "POST", "/v1/orders/" + id + "/cancel", "", bob).status == 404);
  CHECK(call(router, "POST", "/v1/orders/" + id + "/cancel", R"({"userId":"bob"})", bob).status == 404);
  CHECK(call(router, "POST", "/v1/orders/" + id + "/cancel", R"({"userId":"bob"})", ann).status == 403);
  CHECK(call(router, "GET", "/v1/orders/" + id, "", ann).status == 200);
  auto cancel = call(router, "POST", "/v1/orders/" + id + "/cancel", R"({"userId":"ann"})", ann);
  CHECK(cancel.status == 200);
  CHECK(cancel.body.find("\"status\":\"CANCELLED\"") != std::string::npos);
  CHECK(call(router, "POST", "/v1/orders/" + id + "/cancel", "", ann).status == 409);
  CHECK(f.stock("gig:1", "held") == 0);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE payload->>'reason' = 'USER_CANCELLED'") == 1);

  auto swept = call(router, "POST", "/v1/admin/expiry-sweeps", "", admin);
  CHECK(swept.status == 200);
  CHECK(swept.body == R"({"expired":0})");
  CHECK(call(router, "POST", "/v1/admin/expiry-sweeps", "").status == 401);
}

TEST_CASE("the outbox relay publishes the order's events to Kafka keyed by order id") {
  OrdersFixture f;
  const auto prefix = testing::unique_name("ord") + ".";
  auto options = testing::kafka_options(prefix);
  testing::create_topics(options, {"order.created", "order.completed", "product.sold-out"});
  auto producer = events::Producer::create(options);
  REQUIRE(producer.ok());
  f.product("seat", 1, 100);
  const auto order = f.placed("ivy", {{"seat", 1, 100}});
  REQUIRE(f.apply("payment.completed", f.paid(order, core::new_uuid_v7())).succeeded());
  events::OutboxRelay relay(testing::pg_options(f.schema), **producer, {f.schema, 100, 100ms, 10s});
  relay.start();
  REQUIRE(testing::eventually([&] { return f.count("SELECT count(*) FROM outbox") == 0; }, 30s));
  relay.stop();
  const auto created = testing::read_topic(options, options.topic("order.created"), 1, 20s);
  const auto completed = testing::read_topic(options, options.topic("order.completed"), 1, 20s);
  const auto sold_out = testing::read_topic(options, options.topic("product.sold-out"), 1, 20s);
  REQUIRE(created.size() == 1);
  REQUIRE(completed.size() == 1);
  REQUIRE(sold_out.size() == 1);
  CHECK(created[0].key == order.id);
  CHECK(completed[0].key == order.id);
  CHECK(sold_out[0].key == "seat");
}
