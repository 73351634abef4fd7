// data-platform-forwarder as its daemon builds it (config, forwarder, delivery log, consumer
// runtime) against the real broker and PostgreSQL, with the in-process fake analytics
// webhook as the outside world.
#include <catch2/catch.hpp>

#include <future>
#include <set>

#include "contracts/order_completed.hpp"
#include "contracts/payment_completed.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"
#include "data_platform_forwarder/config.hpp"
#include "data_platform_forwarder/forwarder.hpp"
#include "data_platform_forwarder/http_api.hpp"
#include "data_platform_forwarder/schema.hpp"
#include "data_platform_forwarder/service.hpp"
#include "events/admin.hpp"
#include "events/dead_letter.hpp"
#include "events/naming.hpp"
#include "events/producer.hpp"
#include "fakes/fake_analytics.hpp"
#include "http/client.hpp"
#include "runtime/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/outcomes.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace paypipe::data_platform_forwarder;
using namespace std::chrono_literals;

namespace {

const std::string group = "data-platform-forwarder";
const std::string secret = "Bearer analytics-secret";

struct Forwarding : testing::FreshSchema {
  std::string prefix = testing::unique_name("f") + ".";
  events::KafkaOptions kafka = testing::kafka_options(prefix);
  testing::FakeAnalytics webhook;
  Config config;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<events::Producer> producer;  // publishes the test's events
  std::unique_ptr<runtime::Service> service;     // the daemon's own build_service()

  explicit Forwarding(std::map<std::string, std::string> extra = {})
      : FreshSchema("forward", runtime::with_event_tables(schema::embedded_files())) {
    std::map<std::string, std::string> env{
        {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", testing::stack().kafka_bootstrap},
        {"PAYPIPE_PG_DSN", testing::stack().pg_dsn},
        {"PAYPIPE_PG_SCHEMA", schema},
        {"PAYPIPE_TOPIC_PREFIX", prefix},
        {"PAYPIPE_PROFILE", "local"},  // topics of one replica
        {"PAYPIPE_HTTP_ADDRESS", "127.0.0.1"},
        {"PAYPIPE_HTTP_PORT", "0"},
        {"PAYPIPE_WEBHOOK_URL", webhook.url()},
        {"PAYPIPE_WEBHOOK_AUTHORIZATION", secret},
        {"PAYPIPE_WEBHOOK_TIMEOUT_MS", "2000"},
        // The production policy (5 tries, x2, capped) in milliseconds: 10, 20, 40, 80.
        {"PAYPIPE_RETRY_INTERVAL_MS", "10"},
        {"PAYPIPE_RETRY_MAX_INTERVAL_MS", "80"},
    };
    for (auto& [k, v] : extra) env[k] = v;
    core::Env variables(env);
    config = Config::read(variables);
    REQUIRE(variables.finish().ok());
    // The test's producer and topics under the daemon's names (PAYPIPE_NAMING_PROFILE...).
    kafka.naming = config.common.kafka.naming;
    testing::create_topics(kafka, events::group_topics(group, consumed_topics()), 3);
    const auto migrations = runtime::with_event_tables(schema::embedded_files());
    pool = std::make_unique<pg::Pool>(config.common.database);
    auto created = events::Producer::create(kafka);
    REQUIRE(created.ok());
    producer = std::move(created).value();
    service = build_service(config, migrations);
    REQUIRE(service->start().ok());
  }

  ~Forwarding() {
    service.reset();  // its stop plan
  }

  events::Event payment(std::string order_id = core::new_uuid_v7()) {
    const contracts::PaymentCompleted data{core::new_uuid_v7(), order_id, "alice", 3000, "KRW", core::now_rfc3339()};
    return events::make_event("payment.completed", "/paypipe/payment-api", order_id, contracts::encode(data));
  }

  events::Event order_completed() {
    const auto order_id = core::new_uuid_v7();
    const contracts::OrderCompleted data{order_id, "alice",    {{"seat-1", 2, 1500}}, 3000,
                                         "KRW",    "SHIPPING", core::new_uuid_v7(),   core::now_rfc3339()};
    return events::make_event("order.completed", "/paypipe/order-processor", order_id, contracts::encode(data));
  }

  // Publishes and returns the partition Kafka put it in.
  std::int32_t publish(const events::Event& event, const std::string& topic = "payment.completed") {
    std::promise<events::Delivery> acked;
    auto future = acked.get_future();
    REQUIRE(producer
                ->send({kafka.topic(topic), event.key, event.data, events::to_headers(event)},
                       [&acked](const events::Delivery& d) { acked.set_value(d); })
                .ok());
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    const auto delivery = future.get();
    REQUIRE(delivery.status.ok());
    return delivery.partition;
  }

  std::string status_of(const std::string& event_id) {
    auto rows = connection.exec("SELECT status FROM deliveries WHERE event_id = $1::uuid", event_id);
    if (!rows || rows->empty()) return "<none>";
    return rows->str(0, 0);
  }
  std::int64_t attempts_of(const std::string& event_id) {
    return testing::query_integer(connection, "SELECT attempts FROM deliveries WHERE event_id = '" + event_id + "'");
  }

  http::Response get(const std::string& path, std::map<std::string, std::string> query = {}) {
    DeliveryApi api(*pool);
    http::Router router;
    api.add_routes(router);
    http::Request request;
    request.method = "GET";
    request.path = path;
    request.query = std::move(query);
    auto match = router.match("GET", path);
    REQUIRE(match.route != nullptr);
    request.path_params = match.params;
    return match.route->handler(request);
  }
};

}  // namespace

TEST_CASE("the webhook fails 3 times then succeeds: delivered once, COMPLETED with attempts 4") {
  Forwarding f;
  const auto event = f.payment();
  f.webhook.set({.fail_keys = {{event.id, 3}}, .status = 503});
  f.publish(event);
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "COMPLETED"; }, 30s));
  CHECK(f.attempts_of(event.id) == 4);
  CHECK(f.webhook.requests_for(event.id) == 4);
  CHECK(f.webhook.accepted_for(event.id) == 1);
  const auto delivery = f.webhook.delivered().at(0);
  CHECK(delivery.authorization == secret);
  CHECK(delivery.content_type == "application/cloudevents+json; charset=utf-8");
  auto body = core::json::parse(delivery.body);
  REQUIRE(body.ok());
  CHECK(std::string((*body)["id"].GetString()) == event.id);
  CHECK(std::string((*body)["specversion"].GetString()) == "1.0");
  // The webhook gets the CloudEvents name (docs/operations.md, "Event names across an upgrade").
  CHECK(std::string((*body)["type"].GetString()) == "dev.paypipe.payment.completed.v1");
  CHECK(std::string((*body)["data"]["orderId"].GetString()) == event.key);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM deliveries WHERE completed_at IS NOT NULL") == 1);
  auto one = f.get("/v1/deliveries/" + event.id);
  REQUIRE(one.status == 200);
  auto doc = core::json::parse(one.body);
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["status"].GetString()) == "COMPLETED");
  CHECK((*doc)["attempts"].GetInt() == 4);
  CHECK((*doc)["lastHttpStatus"].GetInt() == 202);
  CHECK(f.get("/v1/deliveries/" + core::new_uuid_v7()).status == 404);
  CHECK(f.get("/v1/deliveries/nope").status == 400);
}

TEST_CASE("the webhook down longer than the backoff: DEAD_LETTER and the DLQ, then COMPLETED once after a retry") {
  Forwarding f;
  f.webhook.set_down(true);
  const auto event = f.order_completed();
  f.publish(event, "order.completed");
  const auto dead = testing::read_topic(f.kafka, f.kafka.topic(events::dlq_topic(group)), 1, 30s);
  REQUIRE(dead.size() == 1);
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->error_class == "paypipe.data-platform-forwarder.WebhookUnreachable");
  CHECK(info->original_topic == f.kafka.topic("order.completed"));
  CHECK(info->group == group);
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "DEAD_LETTER"; }, 10s));
  CHECK(f.attempts_of(event.id) == 5);
  auto listed = core::json::parse(f.get("/v1/deliveries", {{"status", "DEAD_LETTER"}}).body);
  REQUIRE(listed.ok());
  REQUIRE((*listed)["items"].Size() == 1);
  CHECK(std::string((*listed)["items"][0]["eventId"].GetString()) == event.id);
  CHECK(std::string((*listed)["items"][0]["lastError"].GetString()).find("WebhookUnreachable") != std::string::npos);

  // The webhook recovers; dlq-retrier republishes the record to retry.<group>.
  f.webhook.set_down(false);
  REQUIRE(
      f.producer->send_and_wait(events::retry_record(dead[0], f.kafka.topic(events::retry_topic(group)), 2), 10s).ok());
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "COMPLETED"; }, 30s));
  CHECK(f.attempts_of(event.id) == 6);
  CHECK(f.webhook.accepted_for(event.id) == 1);
  CHECK(f.webhook.distinct_delivered() == 1);
  CHECK(f.webhook.duplicate_deliveries() == 0);
  auto completed = core::json::parse(f.get("/v1/deliveries", {{"status", "COMPLETED"}}).body);
  REQUIRE(completed.ok());
  CHECK((*completed)["items"].Size() == 1);
}

TEST_CASE("while one key waits out its backoff, other keys and partitions keep flowing") {
  Forwarding f({{"PAYPIPE_RETRY_INTERVAL_MS", "2000"}, {"PAYPIPE_RETRY_MAX_INTERVAL_MS", "8000"}});
  const auto stuck = f.payment();
  f.webhook.set({.fail_keys = {{stuck.id, 1}}, .status = 503});
  const auto stuck_partition = f.publish(stuck);
  REQUIRE(testing::eventually([&] { return f.status_of(stuck.id) == "FAILED"; }, 30s, 5ms));
  const auto failed_at = std::chrono::steady_clock::now();

  // Others, on every partition, published during the 2 s backoff.
  std::vector<events::Event> others;
  std::set<std::int32_t> partitions;
  // Keys are random: publish until the stuck one's partition has another key too
  // (nine alone miss it about one time in forty).
  std::size_t on_stuck_partition = 0;
  for (int i = 0; i < 40 && (others.size() < 9 || on_stuck_partition == 0); ++i) {
    others.push_back(f.payment());
    const auto partition = f.publish(others.back());
    partitions.insert(partition);
    if (partition == stuck_partition) ++on_stuck_partition;
  }
  REQUIRE(testing::eventually(
      [&] {
        for (const auto& e : others) {
          if (f.status_of(e.id) != "COMPLETED") return false;
        }
        return true;
      },
      30s, 5ms));
  const auto others_done_after = std::chrono::steady_clock::now() - failed_at;
  INFO("others completed " << std::chrono::duration_cast<std::chrono::milliseconds>(others_done_after).count()
                           << " ms after the stuck record failed");
  CHECK(others_done_after < 1500ms);
  CHECK(f.status_of(stuck.id) == "FAILED");  // still in its backoff
  CHECK(partitions.size() > 1);
  CHECK(partitions.count(stuck_partition) == 1);  // the stuck one's own partition flowed too (other keys)
  REQUIRE(testing::eventually([&] { return f.status_of(stuck.id) == "COMPLETED"; }, 30s));
  CHECK(f.attempts_of(stuck.id) == 2);
}

TEST_CASE("a COMPLETED delivery is not sent again when its event is redelivered") {
  Forwarding f;
  const auto order = core::new_uuid_v7();
  const auto event = f.payment(order);
  f.publish(event);
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "COMPLETED"; }, 30s));
  const auto marker = f.payment(order);  // same key: handled after the duplicate
  f.publish(event);
  f.publish(event, events::retry_topic(group));
  f.publish(marker);
  REQUIRE(testing::eventually([&] { return f.status_of(marker.id) == "COMPLETED"; }, 30s));
  CHECK(f.webhook.requests_for(event.id) == 1);
  CHECK(f.attempts_of(event.id) == 1);
}

TEST_CASE("a webhook refusing the event (4xx) dead-letters it at once") {
  Forwarding f;
  f.webhook.set({.mode = "fail", .status = 422});
  const auto event = f.payment();
  f.publish(event);
  const auto dead = testing::read_topic(f.kafka, f.kafka.topic(events::dlq_topic(group)), 1, 30s);
  REQUIRE(dead.size() == 1);
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->kind == events::Outcome::Kind::fatal);
  CHECK(info->error_class == "paypipe.data-platform-forwarder.WebhookRejected");
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "DEAD_LETTER"; }, 10s));
  CHECK(f.attempts_of(event.id) == 1);
  CHECK(f.webhook.requests_for(event.id) == 1);
}

TEST_CASE("a 429 waits for Retry-After before the next try") {
  Forwarding f;
  f.webhook.set({.mode = "rate_limit", .retry_after_seconds = 1});
  const auto event = f.payment();
  f.publish(event);
  REQUIRE(testing::eventually([&] { return f.webhook.requests_for(event.id) == 1; }, 30s, 2ms));
  const auto first_try = std::chrono::steady_clock::now();
  f.webhook.set({});
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "COMPLETED"; }, 30s, 5ms));
  CHECK(std::chrono::steady_clock::now() - first_try >= 900ms);  // not the policy's 10 ms
  CHECK(f.attempts_of(event.id) == 2);
}

// ---------------------------------------------------------------------------------------
// Two runners of one record (issue 12, item 1): a partition revoked while its webhook
// calls were slow was given to another replica, which ran the same records again while
// the first replica's calls were still on the wire. Here two forwarders (their own
// Config, Forwarder and HTTP client; one database) get the same record at once.
namespace {

using Collected = testing::Outcomes;

struct TwoForwarders : testing::FreshSchema {
  testing::FakeAnalytics webhook;
  std::map<std::string, std::string> env;
  std::unique_ptr<pg::Pool> pool;
  struct Runner {
    Config config;
    std::unique_ptr<http::Client> client;
    std::unique_ptr<Forwarder> forwarder;
  };
  std::vector<std::unique_ptr<Runner>> runners;

  TwoForwarders() : FreshSchema("forward", runtime::with_event_tables(schema::embedded_files())) {
    env = {{"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", testing::stack().kafka_bootstrap},
           {"PAYPIPE_PG_DSN", testing::stack().pg_dsn},
           {"PAYPIPE_PG_SCHEMA", schema},
           {"PAYPIPE_WEBHOOK_URL", webhook.url()},
           {"PAYPIPE_WEBHOOK_TIMEOUT_MS", "5000"}};
    for (int i = 0; i < 2; ++i) {
      auto r = std::make_unique<Runner>();
      core::Env variables(env);
      r->config = Config::read(variables);
      REQUIRE(variables.finish().ok());
      if (!pool) pool = std::make_unique<pg::Pool>(r->config.common.database);
      r->client = std::make_unique<http::Client>(r->config.client_options());
      r->forwarder = std::make_unique<Forwarder>(r->config, *pool, *r->client);
      runners.push_back(std::move(r));
    }
  }
  ~TwoForwarders() {
    for (auto& r : runners) {
      r->forwarder->stop();
      r->forwarder.reset();
      r->client.reset();
    }
  }

  Forwarder& operator[](int i) { return *runners.at(static_cast<std::size_t>(i))->forwarder; }

  static events::ConsumedEvent consumed(const events::Event& event) {
    events::ConsumedEvent c;
    c.event = event;
    c.topic = "payment.completed";
    return c;
  }
  static events::Event payment() {
    const auto order_id = core::new_uuid_v7();
    const contracts::PaymentCompleted data{core::new_uuid_v7(), order_id, "alice", 3000, "KRW", core::now_rfc3339()};
    return events::make_event("payment.completed", "/paypipe/payment-api", order_id, contracts::encode(data));
  }
  std::string status_of(const std::string& event_id) {
    auto rows = connection.exec("SELECT status FROM deliveries WHERE event_id = $1::uuid", event_id);
    if (!rows || rows->empty()) return "<none>";
    return rows->str(0, 0);
  }
};

}  // namespace

TEST_CASE("two forwarders handed one record at once: one webhook call, the second finds the claim") {
  TwoForwarders t;
  t.webhook.set({.delay = 800ms});
  const auto event = TwoForwarders::payment();
  Collected first, second;
  t[0].handle(TwoForwarders::consumed(event), first.callback());
  t[1].handle(TwoForwarders::consumed(event), second.callback());
  REQUIRE(testing::eventually([&] { return first.size() == 1 && second.size() == 1; }, 30s));
  CHECK(t.webhook.requests_for(event.id) == 1);  // was 2: both moved the row to IN_PROGRESS and called
  const auto a = first.all()[0], b = second.all()[0];
  CHECK(a.succeeded() != b.succeeded());
  const auto& waiting = a.succeeded() ? b : a;
  CHECK(waiting.error_class == "paypipe.data-platform-forwarder.ClaimedElsewhere");
  REQUIRE(waiting.retry_after.has_value());
  CHECK(*waiting.retry_after <= 15100ms);  // the lease: 2 x 5 s + 5 s
  CHECK(t.status_of(event.id) == "COMPLETED");
  CHECK(testing::query_integer(t.connection, "SELECT count(*) FROM deliveries WHERE claim_owner IS NOT NULL") == 0);
  // The retry of the one told to wait: COMPLETED, not sent again.
  Collected again;
  t[a.succeeded() ? 1 : 0].handle(TwoForwarders::consumed(event), again.callback());
  REQUIRE(testing::eventually([&] { return again.size() == 1; }, 30s));
  CHECK(again.all()[0].succeeded());
  CHECK(t.webhook.requests_for(event.id) == 1);
}

TEST_CASE("a forwarder takes over an expired claim (counted), waits for a live one, and never calls when abandoned") {
  TwoForwarders t;
  const auto expired = TwoForwarders::payment();
  const auto live = TwoForwarders::payment();
  const auto abandoned = TwoForwarders::payment();
  REQUIRE(
      t.connection
          .exec("INSERT INTO deliveries (event_id, event_type, event_key, status, attempts, claim_owner, claim_until) "
                "VALUES ($1::uuid, 'payment.completed', 'k', 'IN_PROGRESS', 1, 'crashed/1/x', now() - interval '1 s'), "
                "($2::uuid, 'payment.completed', 'k', 'IN_PROGRESS', 1, 'busy/1/y', now() + interval '30 s')",
                expired.id, live.id)
          .ok());
  Collected outcomes;
  t[0].handle(TwoForwarders::consumed(expired), outcomes.callback());
  t[0].handle(TwoForwarders::consumed(live), outcomes.callback());
  auto gone = TwoForwarders::consumed(abandoned);
  gone.abandoned = std::make_shared<std::atomic<bool>>(true);
  t[0].handle(gone, outcomes.callback());
  REQUIRE(testing::eventually([&] { return outcomes.size() == 3; }, 30s));
  CHECK(t.webhook.requests_for(expired.id) == 1);
  CHECK(t.status_of(expired.id) == "COMPLETED");
  CHECK(testing::query_integer(t.connection,
                               "SELECT takeovers FROM deliveries WHERE event_id = '" + expired.id + "'") == 1);
  CHECK(t.webhook.requests_for(live.id) == 0);
  CHECK(t.status_of(live.id) == "IN_PROGRESS");  // still the live owner's
  CHECK(t.webhook.requests_for(abandoned.id) == 0);
  int retryable = 0;
  for (const auto& o : outcomes.all()) retryable += o.kind == events::Outcome::Kind::retryable;
  CHECK(retryable == 2);
}

TEST_CASE("the fake webhook's down mode refuses at once, and up listens again on the same port, every time") {
  // Once "down" timed out instead of refusing and "up" could not listen again, failing
  // this binary on a fresh clone.
  testing::FakeAnalytics webhook;
  const auto port = webhook.port();
  http::Client client(http::ClientOptions{1000ms, 2000ms});
  http::ClientRequest request;
  request.method = "POST";
  request.url = webhook.url();
  request.headers = {{"Idempotency-Key", core::new_uuid_v7()}};
  request.body = "{}";
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    auto up = client.send(request);  // also leaves a kept-alive connection in the pool
    REQUIRE(up.ok());
    CHECK(up->status / 100 == 2);
    webhook.set_down(true);
    const auto started = std::chrono::steady_clock::now();
    auto down = client.send(request);
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().code == "http-connect");  // refused: not a timeout
    CHECK(std::chrono::steady_clock::now() - started < 1000ms);
    webhook.set_down(false);
    CHECK(webhook.port() == port);
  }
}

TEST_CASE("under the spring names it reads payment.success as data-platform-group, dead letters to its .DLQ") {
  Forwarding f(std::map<std::string, std::string>{{"PAYPIPE_NAMING_PROFILE", "spring"}});
  // A Spring producer writes to payment.success: the record is sent by that name.
  const auto event = f.payment();
  std::promise<events::Delivery> acked;
  REQUIRE(f.producer
              ->send({f.prefix + "payment.success", event.key, event.data, events::to_headers(event)},
                     [&acked](const events::Delivery& d) { acked.set_value(d); })
              .ok());
  auto delivered = acked.get_future();
  REQUIRE(delivered.wait_for(10s) == std::future_status::ready);
  REQUIRE(delivered.get().status.ok());
  REQUIRE(testing::eventually([&] { return f.status_of(event.id) == "COMPLETED"; }, 30s));
  CHECK(f.webhook.accepted_for(event.id) == 1);

  // The group the broker knows is the Spring service's, with its offset on payment.success.
  auto admin = events::Admin::create(f.kafka);
  REQUIRE(admin.ok());
  REQUIRE(testing::eventually(
      [&] {
        auto d = (*admin)->describe_group(f.prefix + "data-platform-group", 5s);
        if (!d) return false;
        for (const auto& p : d->partitions) {
          if (p.topic == f.prefix + "payment.success" && p.committed > 0) return true;
        }
        return false;
      },
      30s, 100ms));
  CHECK_FALSE((*admin)->describe_group(f.prefix + "data-platform-forwarder", 5s).ok());

  // A refused event goes to <group>.DLQ.
  f.webhook.set({.mode = "fail", .status = 422});
  const auto refused = f.payment();
  f.publish(refused);  // logical payment.completed, i.e. payment.success
  const auto dead = testing::read_topic(f.kafka, f.prefix + "data-platform-group.DLQ", 1, 30s);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].key == refused.key);

  // Nothing under the logical names.
  auto topics = (*admin)->list_topics(10s);
  REQUIRE(topics.ok());
  for (const auto& t : *topics) {
    if (!t.starts_with(f.prefix)) continue;
    INFO(t);
    CHECK(t != f.prefix + "payment.completed");
    CHECK(t.find("dlq.") == std::string::npos);
    CHECK(t.find("retry.") == std::string::npos);
  }
}
