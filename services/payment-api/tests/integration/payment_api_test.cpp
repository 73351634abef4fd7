// payment-api against the real PostgreSQL (and Kafka for the outbox): batches, races,
// idempotency, the projection and the refund saga's payment side.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "contracts/order_cancelled.hpp"
#include "contracts/order_created.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "core/uuid.hpp"
#include "events/idempotency.hpp"
#include "events/outbox.hpp"
#include "payment_api/event_handlers.hpp"
#include "payment_api/health.hpp"
#include "payment_api/payment_processor.hpp"
#include "payment_api/payment_store.hpp"
#include "payment_api/schema.hpp"
#include "runtime/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace paypipe::payment_api;
using namespace std::chrono_literals;

namespace {

struct PaymentsFixture : testing::FreshSchema {
  pg::Pool pool{pg::PoolOptions{testing::pg_options(schema), 8, 5000ms}};
  PaymentProcessor processor{pool, "/paypipe/payment-api"};

  PaymentsFixture() : FreshSchema("payments", runtime::with_event_tables(schema::embedded_files())) {}

  core::Status apply(const std::string& type, const std::string& data, std::string id = core::new_uuid_v7()) {
    events::Event e;
    e.id = std::move(id);
    e.type = type;
    e.data = data;
    const std::vector<events::ConsumedEvent> batch{{e, type, 0, 0, 1}};
    const auto outcome = events::apply_exactly_once(pool, "payment-api", batch, apply_events, "payment-api")[0];
    if (outcome.succeeded()) return {};
    return core::make_error(core::ErrorCategory::internal, outcome.error_class, outcome.message);
  }

  std::string order(const std::string& user, std::int64_t total, std::chrono::milliseconds ttl = 10min,
                    const std::string& currency = "KRW") {
    const auto id = core::new_uuid_v7();
    const contracts::OrderCreated created{id,
                                          user,
                                          {{"seat-1", 1, total}},
                                          total,
                                          currency,
                                          "SHIPPING",
                                          core::format_rfc3339(core::now_ms() + ttl),
                                          core::now_rfc3339()};
    REQUIRE(apply("order.created", contracts::encode(created)).ok());
    return id;
  }

  void fund(const std::string& user, std::int64_t amount) {
    REQUIRE(pool.transact([&](pg::Transaction& tx) -> core::Status {
                  auto d = deposit(tx, user, amount, core::new_uuid_v7());
                  if (!d) return d.error();
                  return {};
                })
                .ok());
  }

  std::vector<core::Result<Decision>> pay(const std::vector<PaymentRequest>& requests) {
    std::vector<core::TraceContext> traces(requests.size(), core::TraceContext::generate());
    return processor.process(requests, traces);
  }

  std::int64_t count(const std::string& sql) { return testing::query_integer(connection, sql); }
  // The invariant every test may ask for: each wallet's balance is the sum of its ledger.
  std::int64_t ledger_disagreements() {
    return count(
        "SELECT count(*) FROM wallets w WHERE balance <> "
        "(SELECT coalesce(sum(amount), 0) FROM wallet_entries e WHERE e.user_id = w.user_id)");
  }
  std::int64_t balance(const std::string& user) {
    return count("SELECT coalesce(sum(balance), 0) FROM wallets WHERE user_id = '" + user + "'");
  }
};

Verdict verdict(const core::Result<Decision>& r) {
  REQUIRE(r.ok());
  return r->verdict;
}

}  // namespace

TEST_CASE("one batch mixing good and failing requests gives each its own answer and effect") {
  PaymentsFixture f;
  f.fund("alice", 10000);
  f.fund("bob", 100);
  const auto a1 = f.order("alice", 3000), a2 = f.order("alice", 4000), b1 = f.order("bob", 5000);
  const auto results = f.pay({{a1, "alice", "k1"},
                              {b1, "bob", "k2"},                                     // insufficient funds
                              {core::new_uuid_v7(), "alice", "k3"},                  // unknown order
                              {a2, "bob", "k4"},                                     // someone else's order
                              {a2, "alice", "k5"},
                              {a1, "alice", "k1"}});                                 // same key, same batch
  CHECK(verdict(results[0]) == Verdict::charge);
  CHECK(verdict(results[1]) == Verdict::insufficient_funds);
  CHECK(verdict(results[2]) == Verdict::order_not_found);
  CHECK(verdict(results[3]) == Verdict::wrong_user);
  CHECK(verdict(results[4]) == Verdict::charge);
  CHECK(verdict(results[5]) == Verdict::replay);
  CHECK(results[5]->previous->id == results[0]->previous->id);
  CHECK(f.balance("alice") == 3000);
  CHECK(f.balance("bob") == 100);
  CHECK(f.count("SELECT count(*) FROM payments WHERE status = 'COMPLETED'") == 2);
  CHECK(f.count("SELECT count(*) FROM payments WHERE status = 'FAILED'") == 1);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.payment.completed.v1'") == 2);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.payment.failed.v1'") == 1);
  // The ledger explains every balance.
  CHECK(f.ledger_disagreements() == 0);
}

TEST_CASE("a wallet in one currency is never debited for an order in another, and takes no other deposits") {
  PaymentsFixture f;
  f.fund("erin", 10000);  // a KRW wallet (the processor's and deposit's currency)
  const auto usd = f.order("erin", 3000, 10min, "USD");
  const auto results = f.pay({{usd, "erin", "k1"}});
  CHECK(verdict(results[0]) == Verdict::currency_mismatch);
  CHECK(results[0]->detail.find("USD") != std::string::npos);
  CHECK(f.balance("erin") == 10000);
  CHECK(f.count("SELECT count(*) FROM payments") == 0);
  CHECK(f.count("SELECT count(*) FROM outbox") == 0);
  CHECK(f.count("SELECT count(*) FROM payable_orders WHERE status = 'PAYABLE' AND order_id = '" + usd + "'") == 1);
  // The same order again is refused again (nothing was stored under the key).
  CHECK(verdict(f.pay({{usd, "erin", "k1"}})[0]) == Verdict::currency_mismatch);

  // A payment-api whose wallets are in USD refuses a KRW order for a user without a wallet.
  PaymentProcessor dollars(f.pool, "/paypipe/payment-api", "USD");
  const auto krw = f.order("gus", 0);
  std::vector<core::TraceContext> traces(1, core::TraceContext::generate());
  const std::vector<PaymentRequest> request{{krw, "gus", "k2"}};
  CHECK(verdict(dollars.process(request, traces)[0]) == Verdict::currency_mismatch);

  // A deposit in another currency than the wallet's is refused and writes nothing.
  auto refused = f.pool.transact([&](pg::Transaction& tx) -> core::Status {
    auto d = deposit(tx, "erin", 500, core::new_uuid_v7(), "USD");
    if (!d) return d.error();
    return {};
  });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "currency-mismatch");
  CHECK(refused.error().category == core::ErrorCategory::unprocessable);
  CHECK(f.balance("erin") == 10000);
  CHECK(f.count("SELECT count(*) FROM wallet_entries WHERE user_id = 'erin'") == 1);
  // A new wallet takes the deposit's currency.
  REQUIRE(f.pool
              .transact([&](pg::Transaction& tx) -> core::Status {
                auto d = deposit(tx, "hana", 500, core::new_uuid_v7(), "USD");
                if (!d) return d.error();
                return {};
              })
              .ok());
  CHECK(f.count("SELECT count(*) FROM wallets WHERE user_id = 'hana' AND currency = 'USD'") == 1);
}

TEST_CASE("the same Idempotency-Key across batches charges once and answers the same") {
  PaymentsFixture f;
  f.fund("carol", 10000);
  const auto o = f.order("carol", 2500);
  const auto first = f.pay({{o, "carol", "same"}});
  const auto second = f.pay({{o, "carol", "same"}});
  CHECK(verdict(first[0]) == Verdict::charge);
  CHECK(verdict(second[0]) == Verdict::replay);
  CHECK(second[0]->previous->id == first[0]->previous->id);
  CHECK(second[0]->previous->created_at == first[0]->previous->created_at);
  CHECK(f.balance("carol") == 7500);
  CHECK(verdict(f.pay({{f.order("carol", 1), "carol", "same"}})[0]) == Verdict::key_reused);
}

TEST_CASE("concurrent requests for one order from many workers charge exactly once") {
  PaymentsFixture f;
  f.fund("dave", 100000);
  const auto o = f.order("dave", 1000);
  std::atomic<int> charged{0}, refused{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 8; ++i) {
    workers.emplace_back([&, i] {
      PaymentProcessor processor(f.pool, "/paypipe/payment-api");
      const std::vector<PaymentRequest> requests{{o, "dave", "race-" + std::to_string(i)}};
      const std::vector<core::TraceContext> traces{core::TraceContext::generate()};
      const auto r = processor.process(requests, traces)[0];
      if (r && r->verdict == Verdict::charge) ++charged;
      if (r && r->verdict == Verdict::not_payable) ++refused;
    });
  }
  for (auto& w : workers) w.join();
  CHECK(charged == 1);
  CHECK(refused == 7);
  CHECK(f.balance("dave") == 99000);
}

TEST_CASE("concurrent requests with one Idempotency-Key in separate batches charge once") {
  PaymentsFixture f;
  f.fund("erin", 100000);
  std::vector<std::string> orders;
  for (int i = 0; i < 20; ++i) orders.push_back(f.order("erin", 100));
  std::vector<std::thread> workers;
  std::atomic<int> errors{0};
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      PaymentProcessor processor(f.pool, "/paypipe/payment-api");
      for (const auto& o : orders) {
        const std::vector<PaymentRequest> requests{{o, "erin", "key-" + o}};
        const std::vector<core::TraceContext> traces{core::TraceContext::generate()};
        const auto r = processor.process(requests, traces)[0];
        if (!r) ++errors;
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(f.count("SELECT count(*) FROM payments") == 20);
  CHECK(f.balance("erin") == 100000 - 20 * 100);
  INFO("errors are raced keys answered 409/503-style, never a second charge");
  CHECK(f.count("SELECT count(*) FROM outbox") == 20);
}

TEST_CASE("a transaction cut off between its statements leaves no partial payment") {
  PaymentsFixture f;
  f.fund("frank", 10000);
  const auto o = f.order("frank", 1000);
  {
    auto crashing = testing::connect(f.schema);
    const std::vector<PaymentRequest> requests{{o, "frank", "crash"}};
    auto pipeline = pg::Pipeline::begin(crashing);
    (void)queue_reads(pipeline, requests);
    REQUIRE(pipeline.flush().ok());
    REQUIRE(pipeline.exec("UPDATE wallets SET balance = balance - 1000 WHERE user_id = 'frank'").ok());
    REQUIRE(pipeline
                .exec("INSERT INTO payments (id, order_id, user_id, amount, currency, status, idempotency_key, "
                      "request_fingerprint) VALUES ($1, $2, 'frank', 1000, 'KRW', 'COMPLETED', 'crash', 'x')",
                      core::new_uuid_v7(), o)
                .ok());
    // The process dies here: its connection ends without COMMIT (nor ROLLBACK).
    REQUIRE(f.connection.exec("SELECT pg_terminate_backend($1)", crashing.backend_pid()).ok());
  }
  CHECK(f.balance("frank") == 10000);
  CHECK(f.count("SELECT count(*) FROM payments") == 0);
  CHECK(f.count("SELECT count(*) FROM outbox") == 0);
  CHECK(verdict(f.pay({{o, "frank", "crash"}})[0]) == Verdict::charge);
  CHECK(f.balance("frank") == 9000);
}

TEST_CASE("a zero-total payment racing the payer's first deposit leaves the deposit in the balance") {
  // The payment reads no wallet (none exists yet, so none is locked); the deposit
  // creates it and commits between the payment's read and its write. The write must not
  // put the balance it computed from that unlocked read (0) over the deposit.
  PaymentsFixture f;
  const auto order_id = core::new_uuid_v7();
  REQUIRE(f.connection
              .exec("INSERT INTO payable_orders (order_id, user_id, amount, currency, status, expires_at) "
                    "VALUES ($1, 'zed', 0, 'KRW', 'PAYABLE', now() + interval '10 minutes')",
                    order_id)
              .ok());
  auto depositor = testing::connect(f.schema);
  auto tx = pg::Transaction::begin(depositor);
  REQUIRE(tx.ok());
  // Holds the payment's write back at its ledger insert, after its read.
  REQUIRE(tx->exec("LOCK TABLE wallet_entries IN SHARE MODE").ok());
  core::Result<Decision> paid = core::make_error(core::ErrorCategory::internal, "not-run", "not run");
  std::thread payer([&] { paid = f.pay({{order_id, "zed", "free"}})[0]; });
  const bool blocked = testing::eventually(
      [&] {
        return f.count("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'wallet_entries'::regclass") > 0;
      },
      10000ms);
  CHECK(blocked);
  auto deposited = deposit(*tx, "zed", 500, "first-deposit");
  REQUIRE(deposited.ok());
  REQUIRE(tx->commit().ok());
  payer.join();
  CHECK(verdict(paid) == Verdict::charge);
  CHECK(f.balance("zed") == 500);
  CHECK(f.ledger_disagreements() == 0);
}

TEST_CASE("concurrent deposits and payments of one wallet keep balance = ledger") {
  PaymentsFixture f;
  f.fund("yuri", 1000);
  std::vector<std::string> orders;
  for (int i = 0; i < 20; ++i) orders.push_back(f.order("yuri", i % 3 == 0 ? 0 : 40));
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      PaymentProcessor processor(f.pool, "/paypipe/payment-api");
      for (int i = w; i < 20; i += 4) {
        const std::vector<PaymentRequest> requests{{orders[i], "yuri", "k-" + std::to_string(i)}};
        const std::vector<core::TraceContext> traces{core::TraceContext::generate()};
        (void)processor.process(requests, traces);
        // No REQUIRE off the main thread (Catch2's assertions are not thread-safe).
        (void)f.pool.transact([&](pg::Transaction& tx) -> core::Status {
          auto d = deposit(tx, "yuri", 10, core::new_uuid_v7());
          if (!d) return d.error();
          return {};
        });
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(f.ledger_disagreements() == 0);
  CHECK(f.count("SELECT count(*) FROM wallet_entries e WHERE balance_after < 0") == 0);
}

TEST_CASE("a constraint failing inside a batch is replayed request by request, the others unharmed") {
  PaymentsFixture f;
  f.fund("gina", 10000);
  const auto good = f.order("gina", 1000), poisoned = f.order("gina", 2000);
  // Another replica charged `poisoned` behind payment-api's back: the projection still says PAYABLE,
  // the unique index on charges per order refuses the second charge.
  REQUIRE(f.connection
              .exec("INSERT INTO payments (id, order_id, user_id, amount, currency, status, idempotency_key, "
                    "request_fingerprint) VALUES ($1, $2, 'gina', 2000, 'KRW', 'COMPLETED', 'other', 'x')",
                    core::new_uuid_v7(), poisoned)
              .ok());
  const auto results = f.pay({{good, "gina", "g1"}, {poisoned, "gina", "g2"}});
  CHECK(verdict(results[0]) == Verdict::charge);
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error().category == core::ErrorCategory::conflict);
  CHECK(f.balance("gina") == 9000);
  CHECK(f.count("SELECT count(*) FROM outbox") == 1);
}

TEST_CASE("the outbox yields exactly one event per payment") {
  PaymentsFixture f;
  const auto prefix = testing::unique_name("pay") + ".";
  auto options = testing::kafka_options(prefix);
  testing::create_topics(options, {"payment.completed", "payment.failed"});
  auto producer = events::Producer::create(options);
  REQUIRE(producer.ok());
  f.fund("hank", 50 * 100);
  std::vector<PaymentRequest> requests;
  for (int i = 0; i < 60; ++i) requests.push_back({f.order("hank", 100), "hank", "h" + std::to_string(i)});
  for (std::size_t i = 0; i < requests.size(); i += 16) {
    f.pay(std::vector<PaymentRequest>(requests.begin() + i, requests.begin() + std::min(i + 16, requests.size())));
  }
  events::OutboxRelay relay(testing::pg_options(f.schema), **producer, {f.schema, 100, 100ms, 10s});
  relay.start();
  REQUIRE(testing::eventually([&] { return f.count("SELECT count(*) FROM outbox") == 0; }, 30s));
  relay.stop();
  const auto completed = testing::read_topic(options, options.topic("payment.completed"), 50, 20s);
  const auto failed = testing::read_topic(options, options.topic("payment.failed"), 10, 20s);
  CHECK(completed.size() == 50);
  CHECK(failed.size() == 10);
  std::set<std::string> payment_ids;
  for (const auto& r : completed) payment_ids.insert(r.value.substr(r.value.find("paymentId") + 12, 36));
  CHECK(payment_ids.size() == 50);
  CHECK(f.count("SELECT count(*) FROM payments") == 60);
}

TEST_CASE("the projection follows order.created and order.cancelled, in either order, idempotently") {
  PaymentsFixture f;
  f.fund("ivy", 10000);
  const auto o = f.order("ivy", 1000);
  const contracts::OrderCancelled cancelled{o, "ivy", "EXPIRED", {}, 1000, "KRW", core::now_rfc3339()};
  const auto event_id = core::new_uuid_v7();
  REQUIRE(f.apply("order.cancelled", contracts::encode(cancelled), event_id).ok());
  REQUIRE(f.apply("order.cancelled", contracts::encode(cancelled), event_id).ok());  // redelivered
  CHECK(verdict(f.pay({{o, "ivy", "i1"}})[0]) == Verdict::not_payable);

  // Cancellation seen before creation: the order never becomes payable.
  const auto late = core::new_uuid_v7();
  REQUIRE(f.apply("order.cancelled",
                  contracts::encode(
                      contracts::OrderCancelled{late, "ivy", "USER_CANCELLED", {}, 10, "KRW", core::now_rfc3339()}))
              .ok());
  REQUIRE(
      f.apply("order.created", contracts::encode(contracts::OrderCreated{late,
                                                                         "ivy",
                                                                         {{"s", 1, 10}},
                                                                         10,
                                                                         "KRW",
                                                                         "SHIPPING",
                                                                         core::format_rfc3339(core::now_ms() + 10min),
                                                                         core::now_rfc3339()}))
          .ok());
  CHECK(verdict(f.pay({{late, "ivy", "i2"}})[0]) == Verdict::not_payable);
}

TEST_CASE("one batch of order events is applied with one statement per kind, as one by one would") {
  PaymentsFixture f;
  f.fund("kim", 10000);
  const auto created_only = core::new_uuid_v7();
  const auto created_then_cancelled = core::new_uuid_v7();
  const auto cancelled_then_created = core::new_uuid_v7();
  auto event = [](const std::string& type, std::string data) {
    events::Event e;
    e.id = core::new_uuid_v7();
    e.type = type;
    e.data = std::move(data);
    return events::ConsumedEvent{e, type, 0, 0, 1};
  };
  auto created = [&](const std::string& id) {
    return event("order.created",
                 contracts::encode(contracts::OrderCreated{id,
                                                           "kim",
                                                           {{"s", 1, 100}},
                                                           100,
                                                           "KRW",
                                                           "SHIPPING",
                                                           core::format_rfc3339(core::now_ms() + 10min),
                                                           core::now_rfc3339()}));
  };
  auto cancelled = [&](const std::string& id) {
    return event(
        "order.cancelled",
        contracts::encode(contracts::OrderCancelled{id, "kim", "USER_CANCELLED", {}, 100, "KRW", core::now_rfc3339()}));
  };
  const std::vector<events::ConsumedEvent> batch{created(created_only),
                                                 created(created_then_cancelled),
                                                 cancelled(created_then_cancelled),
                                                 cancelled(cancelled_then_created),
                                                 cancelled(cancelled_then_created),  // two cancellations of one order
                                                 created(cancelled_then_created)};
  for (const auto& outcome : events::apply_exactly_once(f.pool, "payment-api", batch, apply_events, "payment-api")) {
    CHECK(outcome.succeeded());
  }
  CHECK(f.count("SELECT count(*) FROM payable_orders") == 3);
  CHECK(verdict(f.pay({{created_then_cancelled, "kim", "k1"}})[0]) == Verdict::not_payable);
  CHECK(verdict(f.pay({{cancelled_then_created, "kim", "k2"}})[0]) == Verdict::not_payable);
  CHECK(verdict(f.pay({{created_only, "kim", "k3"}})[0]) == Verdict::charge);
}

TEST_CASE("a refund request credits the wallet once and announces payment.refunded") {
  PaymentsFixture f;
  f.fund("jack", 5000);
  const auto o = f.order("jack", 2000);
  const auto paid = f.pay({{o, "jack", "j1"}});
  REQUIRE(verdict(paid[0]) == Verdict::charge);
  CHECK(f.balance("jack") == 3000);
  const contracts::PaymentRefundRequested request{paid[0]->previous->id, o, "jack", 2000, "KRW", "ORDER_EXPIRED",
                                                  core::now_rfc3339()};
  REQUIRE(f.apply("payment.refund-requested", contracts::encode(request)).ok());
  REQUIRE(f.apply("payment.refund-requested", contracts::encode(request)).ok());  // a second request, new event id
  CHECK(f.balance("jack") == 5000);
  CHECK(f.count("SELECT count(*) FROM payments WHERE status = 'REFUNDED'") == 1);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.payment.refunded.v1'") == 1);
  CHECK(f.count("SELECT count(*) FROM wallet_entries WHERE kind = 'REFUND'") == 1);
}

TEST_CASE("deposits are idempotent per key and refuse a reused key with another amount") {
  PaymentsFixture f;
  auto once = [&](std::int64_t amount, const std::string& key) {
    core::Result<Deposit> result = core::make_error(core::ErrorCategory::internal, "unset", "");
    REQUIRE(f.pool
                .transact([&](pg::Transaction& tx) -> core::Status {
                  result = deposit(tx, "kim", amount, key);
                  return {};
                })
                .ok());
    return result;
  };
  auto first = once(700, "d1");
  REQUIRE(first.ok());
  auto replay = once(700, "d1");
  REQUIRE(replay.ok());
  CHECK(replay->replayed);
  CHECK(replay->id == first->id);
  CHECK(f.balance("kim") == 700);
  auto reused = once(800, "d1");
  REQUIRE_FALSE(reused.ok());
  CHECK(reused.error().category == core::ErrorCategory::unprocessable);
}

namespace {

// A loopback port where nothing listens: the kernel hands it out, and we close it.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("payment-api stays ready with Kafka unreachable, and a dead loop fails its liveness") {
  PaymentsFixture f;
  events::KafkaOptions kafka;
  kafka.bootstrap_servers = "127.0.0.1:" + std::to_string(closed_port());
  kafka.topic_prefix = testing::unique_name("nokafka") + ".";
  events::ProducerSettings producer_settings;
  producer_settings.delivery_timeout = 1000ms;  // short: nothing can be delivered here
  auto producer = events::Producer::create(kafka, producer_settings);
  REQUIRE(producer.ok());
  events::RelaySettings relay_settings;
  relay_settings.schema = f.schema;
  relay_settings.poll_interval = 100ms;
  relay_settings.ack_timeout = 1500ms;
  events::OutboxRelay relay(testing::pg_options(f.schema), **producer, relay_settings);
  events::RuntimeSettings settings;
  settings.consumer.group = testing::unique_name("payment_api_health");
  settings.consumer.topics = {"order.created"};
  settings.component = "payment-api";
  auto consumer = events::ConsumerRuntime::batch(
      kafka, settings, **producer, events::exactly_once_handler(f.pool, "payment-api", apply_events, "payment-api"));
  REQUIRE(consumer.ok());

  runtime::Readiness readiness;
  runtime::Liveness liveness;
  add_health_checks(readiness, liveness, f.pool, runtime::with_event_tables(schema::embedded_files()), **consumer,
                    relay, 60s);
  relay.start();
  REQUIRE((*consumer)->start().ok());

  // Kafka is unreachable, yet payments can be taken: the outbox holds their events.
  const auto ready = readiness.respond();
  INFO(ready.body);
  CHECK(ready.status == 200);
  CHECK(ready.body.find("kafka") == std::string::npos);
  f.fund("kim", 100);
  CHECK(verdict(f.pay({{f.order("kim", 40), "kim", "nk-1"}})[0]) == Verdict::charge);
  CHECK(readiness.respond().status == 200);
  CHECK(liveness.respond().status == 200);

  // The outbox relay's thread ends: /healthz fails (Kubernetes restarts the pod),
  // /readyz does not change.
  relay.stop();
  const auto dead = liveness.respond();
  INFO(dead.body);
  CHECK(dead.status == 503);
  CHECK(liveness.failing() == std::vector<std::string>{"outbox-relay"});
  CHECK(readiness.respond().status == 200);
  (*consumer)->stop(2000ms);
  CHECK(liveness.failing() == std::vector<std::string>{"consumer", "outbox-relay"});
}
