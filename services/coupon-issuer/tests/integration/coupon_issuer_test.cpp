// coupon-issuer against the real Kafka broker and PostgreSQL: the decider fed through
// the real consumer runtime, redelivery, the outbox's events, and the HTTP side
// in-process (202 only after Kafka's acknowledgement, 503 when Kafka is away).
#include <catch2/catch.hpp>

#include <atomic>
#include <future>

#include "contracts/coupon_rejected.hpp"
#include "contracts/coupon_requested.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "coupon_issuer/coupon_decider.hpp"
#include "coupon_issuer/coupon_store.hpp"
#include "coupon_issuer/http_api.hpp"
#include "coupon_issuer/schema.hpp"
#include "events/outbox.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "support/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"
#include "support/statements.hpp"

using namespace paypipe;
using namespace paypipe::coupon_issuer;
using namespace std::chrono_literals;

namespace {

struct CouponsFixture : testing::FreshSchema {
  pg::Pool pool{pg::PoolOptions{testing::pg_options(schema), 8, 5000ms}};
  events::KafkaOptions kafka = testing::kafka_options(testing::unique_name("coupons") + ".");
  std::unique_ptr<events::Producer> producer;
  CouponDecider decider{pool, "/paypipe/coupon-issuer"};

  CouponsFixture() : FreshSchema("coupons", runtime::with_event_tables(schema::embedded_files())) {
    testing::create_topics(kafka, {"coupon.requested", "coupon.issued", "coupon.rejected", "dlq.coupon-issuer"});
    auto p = events::Producer::create(kafka);
    REQUIRE(p.ok());
    producer = std::move(p).value();
  }

  std::string coupon(std::int64_t stock, core::SystemTime from = core::now_ms() - 1h,
                     core::SystemTime until = core::now_ms() + 1h) {
    auto created = create_coupon(
        connection, core::new_uuid_v7(),
        NewCoupon{"test coupon", 500, stock, core::format_rfc3339(from), core::format_rfc3339(until)});
    REQUIRE(created.ok());
    return created->id;
  }

  // Publishes one coupon.requested per user (in this order) and returns the request ids.
  std::vector<std::string> request(const std::string& coupon_id, const std::vector<std::string>& users) {
    std::vector<std::string> ids;
    std::atomic<int> failed{0};
    for (const auto& user : users) {
      ids.push_back(core::new_uuid_v7());
      const contracts::CouponRequested data{ids.back(), coupon_id, user, core::now_rfc3339()};
      REQUIRE(producer
                  ->send_event(events::make_event("coupon.requested", "/test", coupon_id, contracts::encode(data)),
                               [&failed](const events::Delivery& d) {
                                 if (!d.status) ++failed;
                               })
                  .ok());
    }
    REQUIRE(producer->flush(20s).ok());
    REQUIRE(failed == 0);
    return ids;
  }

  std::unique_ptr<events::ConsumerRuntime> consumer(std::size_t batch_size = 500) {
    events::RuntimeSettings settings;
    settings.consumer.group = "coupon-issuer";
    settings.consumer.topics = {"coupon.requested"};
    settings.subscribe_retry_topic = false;
    settings.batch_size = batch_size;
    settings.retry = events::RetryPolicy::none();
    settings.component = "coupon-issuer";
    auto runtime = events::ConsumerRuntime::batch(kafka, settings, *producer, decider.handler());
    REQUIRE(runtime.ok());
    REQUIRE((*runtime)->start().ok());
    return std::move(runtime).value();
  }

  std::int64_t count(const std::string& sql) { return testing::query_integer(connection, sql); }
  std::int64_t decided(const std::string& coupon_id) {
    return count("SELECT count(*) FROM coupon_requests WHERE status <> 'PENDING' AND coupon_id = '" + coupon_id + "'");
  }
  std::int64_t with_reason(const std::string& coupon_id, const std::string& reason) {
    return count("SELECT count(*) FROM coupon_requests WHERE coupon_id = '" + coupon_id + "' AND reason = '" + reason +
                 "'");
  }
  std::int64_t remaining(const std::string& coupon_id) {
    return count("SELECT remaining_stock FROM coupons WHERE id = '" + coupon_id + "'");
  }
};

std::vector<std::string> users(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("the same user asking ten times gets one coupon and nine ALREADY_ISSUED") {
  CouponsFixture f;
  const auto c = f.coupon(5);
  const auto ids = f.request(c, std::vector<std::string>(10, "dora"));
  auto consumer = f.consumer();
  REQUIRE(testing::eventually([&] { return f.decided(c) == 10; }, 30s));
  consumer->stop();
  CHECK(f.count("SELECT count(*) FROM issued_coupons WHERE user_id = 'dora'") == 1);
  CHECK(f.with_reason(c, "ALREADY_ISSUED") == 9);
  CHECK(f.remaining(c) == 4);
  // The first request in arrival order is the one that won.
  CHECK(f.count("SELECT count(*) FROM issued_coupons WHERE request_id = '" + ids.front() + "'") == 1);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.coupon.issued.v1'") == 1);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.coupon.rejected.v1'") == 9);
}

TEST_CASE("requests outside the window are EXPIRED, for unknown coupons NOT_FOUND, and nothing is issued") {
  CouponsFixture f;
  const auto expired = f.coupon(10, core::now_ms() - 2h, core::now_ms() - 1h);
  const auto future = f.coupon(10, core::now_ms() + 1h, core::now_ms() + 2h);
  const auto unknown = core::new_uuid_v7();
  f.request(expired, users("late", 3));
  f.request(future, users("early", 2));
  f.request(unknown, users("lost", 4));
  auto consumer = f.consumer();
  REQUIRE(testing::eventually([&] { return f.decided(expired) + f.decided(future) + f.decided(unknown) == 9; }, 30s));
  consumer->stop();
  CHECK(f.with_reason(expired, "EXPIRED") == 3);
  CHECK(f.with_reason(future, "EXPIRED") == 2);
  CHECK(f.with_reason(unknown, "NOT_FOUND") == 4);
  CHECK(f.count("SELECT count(*) FROM issued_coupons") == 0);
  CHECK(f.remaining(expired) == 10);
  CHECK(f.count("SELECT count(*) FROM outbox WHERE type = 'dev.paypipe.coupon.rejected.v1'") == 9);
}

TEST_CASE("a batch of many users for a small stock issues exactly the stock, first come first served") {
  CouponsFixture f;
  const auto c = f.coupon(100);
  const auto ids = f.request(c, users("fan", 1000));
  auto consumer = f.consumer(128);  // several batches, so stock crosses batch boundaries
  REQUIRE(testing::eventually([&] { return f.decided(c) == 1000; }, 30s));
  consumer->stop();
  CHECK(f.count("SELECT count(*) FROM issued_coupons WHERE coupon_id = '" + c + "'") == 100);
  CHECK(f.with_reason(c, "OUT_OF_STOCK") == 900);
  CHECK(f.remaining(c) == 0);
  // One partition, arrival order: the first hundred requests published are the winners.
  const std::string first_hundred = [&] {
    std::string list;
    for (int i = 0; i < 100; ++i) list += (i ? ",'" : "'") + ids[static_cast<std::size_t>(i)] + "'";
    return list;
  }();
  CHECK(f.count("SELECT count(*) FROM issued_coupons WHERE request_id IN (" + first_hundred + ")") == 100);
}

TEST_CASE("a coupon.requested redelivered after a crash changes nothing") {
  CouponsFixture f;
  const auto c = f.coupon(3);
  f.request(c, users("u", 5));
  // A consumer that decided the batch and died before committing its offsets: the
  // records are read and decided, but the group has no committed offset.
  const auto records = testing::read_topic(f.kafka, f.kafka.topic("coupon.requested"), 5, 20s);
  REQUIRE(records.size() == 5);
  std::vector<events::ConsumedEvent> batch;
  for (const auto& r : records) {
    auto e = events::from_record(r.key, r.value, r.headers);
    REQUIRE(e.ok());
    batch.push_back(events::ConsumedEvent{*e, r.topic, r.partition, r.offset});
  }
  for (const auto& outcome : f.decider.handle(batch)) CHECK(outcome.succeeded());
  const auto snapshot = [&] {
    return f.connection
        .exec(
            "SELECT string_agg(request_id::text || status || coalesce(reason, '') || "
            "coalesce(issued_coupon_id::text, ''), ',' ORDER BY request_id) FROM coupon_requests")
        ->str(0, 0);
  };
  const auto before = snapshot();
  CHECK(f.remaining(c) == 0);

  // The same batch again, directly, then everything again through a fresh consumer
  // (it starts from the beginning: nothing was committed). A later request is the
  // sentinel: same coupon, same partition, so once it is decided the redelivered
  // ones before it have been handled.
  for (const auto& outcome : f.decider.handle(batch)) CHECK(outcome.succeeded());
  auto consumer = f.consumer();
  const auto sentinel = f.request(c, {"sentinel"});
  REQUIRE(testing::eventually([&] { return f.decided(c) == 6; }, 30s));
  consumer->stop();
  CHECK(f.count("SELECT count(*) FROM coupon_requests WHERE request_id = '" + sentinel[0] +
                "' AND reason = 'OUT_OF_STOCK'") == 1);
  CHECK(f.count("SELECT count(*) FROM coupon_requests WHERE request_id <> '" + sentinel[0] + "'") == 5);
  CHECK(f.count("SELECT count(*) FROM issued_coupons") == 3);
  CHECK(f.count("SELECT count(*) FROM outbox") == 6);  // five decisions and the sentinel's, once each
  CHECK(f.remaining(c) == 0);
  CHECK(f.connection
            .exec("SELECT string_agg(request_id::text || status || coalesce(reason, '') || "
                  "coalesce(issued_coupon_id::text, ''), ',' ORDER BY request_id) FROM coupon_requests "
                  "WHERE request_id <> $1",
                  sentinel[0])
            ->str(0, 0) == before);
}

TEST_CASE("a batch of requests costs the same statements whatever its size") {
  CouponsFixture f;
  const auto c = f.coupon(1000);
  pg::Pool one{pg::PoolOptions{testing::pg_options(f.schema), 1, 30000ms}};
  CouponDecider decider{one, "/paypipe/coupon-issuer"};
  const auto statements = [&](std::size_t n) {
    std::vector<events::ConsumedEvent> batch;
    for (std::size_t i = 0; i < n; ++i) {
      const contracts::CouponRequested data{core::new_uuid_v7(), c, core::new_uuid_v7(), core::now_rfc3339()};
      batch.push_back(events::ConsumedEvent{events::make_event("coupon.requested", "/test", c, contracts::encode(data)),
                                            "coupon.requested", 0, 0, 1});
    }
    return testing::statements_sent(one, [&] {
      for (const auto& outcome : decider.handle(batch)) REQUIRE(outcome.succeeded());
    });
  };
  const auto two = statements(2);
  const auto fifty = statements(50);
  CHECK(fifty == two);
  // BEGIN, the processed-event marks, the requests decided before, the coupons locked,
  // their holders, the issued coupons, the stock, the requests, the outbox, COMMIT.
  CHECK(two == 10);
  CHECK(f.remaining(c) == 948);
}

TEST_CASE("decisions reach Kafka through the outbox, keyed by user") {
  CouponsFixture f;
  const auto c = f.coupon(1);
  f.request(c, {"winner", "loser"});
  auto consumer = f.consumer();
  REQUIRE(testing::eventually([&] { return f.decided(c) == 2; }, 30s));
  consumer->stop();
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, {f.schema, 100, 100ms, 10s});
  relay.start();
  REQUIRE(testing::eventually([&] { return f.count("SELECT count(*) FROM outbox") == 0; }, 30s));
  relay.stop();
  const auto issued = testing::read_topic(f.kafka, f.kafka.topic("coupon.issued"), 1, 20s);
  const auto rejected = testing::read_topic(f.kafka, f.kafka.topic("coupon.rejected"), 1, 20s);
  REQUIRE(issued.size() == 1);
  REQUIRE(rejected.size() == 1);
  CHECK(issued[0].key == "winner");
  CHECK(rejected[0].key == "loser");
  auto data = contracts::decode_coupon_rejected(rejected[0].value);
  REQUIRE(data.ok());
  CHECK(data->reason == "OUT_OF_STOCK");
  CHECK(data->coupon_id == c);
}

namespace {

// The HTTP side in-process, on a free port, with its own request producer.
struct ApiUnderTest {
  Config config;
  std::unique_ptr<CouponApi> api;
  std::unique_ptr<http::Server> server;
  http::Client client;

  ApiUnderTest(CouponsFixture& f, const std::string& bootstrap, std::chrono::milliseconds ack_timeout) {
    config.common.service = "coupon-issuer";
    config.common.kafka = f.kafka;
    config.common.kafka.bootstrap_servers = bootstrap;
    config.admin_token = "admin-secret";
    config.issue_ack_timeout = ack_timeout;
    auto producer = open_request_producer(config);
    REQUIRE(producer.ok());
    api = std::make_unique<CouponApi>(config, f.pool, std::move(producer).value(),
                                      auth::Authenticator::create(testing::Identity::shared().settings()).value());
    http::Router router;
    api->add_routes(router);
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    server = std::make_unique<http::Server>(options, std::move(router));
    REQUIRE(server->start().ok());
  }
  ~ApiUnderTest() {
    server->stop(2s);
    api->stop();
  }

  http::ClientResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                            std::vector<http::Header> headers = {}) {
    headers.push_back({"Content-Type", "application/json"});
    auto r = client.send({method, "http://127.0.0.1:" + std::to_string(server->port()) + path, headers, body, 20s});
    REQUIRE(r.ok());
    return std::move(r).value();
  }
};

std::string field(const std::string& json, const char* name) {
  auto doc = core::json::parse(json);
  REQUIRE(doc.ok());
  REQUIRE(doc->HasMember(name));
  return (*doc)[name].GetString();
}

}  // namespace

TEST_CASE("POST issue answers 503 when Kafka does not acknowledge, and nothing is recorded") {
  CouponsFixture f;
  const auto c = f.coupon(10);
  // A producer pointed at a port where no broker listens.
  ApiUnderTest http_side(f, "127.0.0.1:" + std::to_string(testing::free_port()), 1000ms);
  const auto started = std::chrono::steady_clock::now();
  const auto answer = http_side.call("POST", "/v1/coupons/" + c + "/issue", R"({"userId":"nobody"})",
                                     {testing::bearer("nobody")});
  CHECK(answer.status == 503);
  CHECK(answer.header("retry-after") == "1");
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  CHECK(f.count("SELECT count(*) FROM coupon_requests") == 0);
  CHECK(f.remaining(c) == 10);
}

// Issue 13: a stranger's request for a coupon that does not exist is refused at the
// edge, so it costs no Kafka record, no request row and no rejection message.
TEST_CASE("POST issue for an unknown coupon answers 404 problem+json and records nothing") {
  CouponsFixture f;
  const auto known = f.coupon(10);  // written straight to the database, as another replica would
  ApiUnderTest http_side(f, testing::stack().kafka_bootstrap, 5000ms);
  const auto unknown = core::new_uuid_v7();
  const std::vector<http::Header> stranger{testing::bearer("123456789")}, ann{testing::bearer("ann")},
      bob{testing::bearer("bob")};
  const auto refused = http_side.call("POST", "/v1/coupons/" + unknown + "/issue", "", stranger);
  CHECK(refused.status == 404);
  CHECK(refused.header("content-type").value_or("").rfind("application/problem+json", 0) == 0);
  CHECK(field(refused.body, "code") == "coupon-not-found");
  CHECK(refused.body.find(unknown) != std::string::npos);
  // Twice: an unknown id is looked up again each time (another replica may create it).
  CHECK(http_side.call("POST", "/v1/coupons/" + unknown + "/issue", "", ann).status == 404);
  // A known coupon, first seen by this process now, is accepted (looked up, then remembered).
  CHECK(http_side.call("POST", "/v1/coupons/" + known + "/issue", "", ann).status == 202);
  CHECK(http_side.call("POST", "/v1/coupons/" + known + "/issue", "", bob).status == 202);
  // Kafka holds the two accepted requests and nothing for the unknown coupon (the
  // refused ones were answered before the accepted ones were sent).
  const auto records = testing::read_topic(f.kafka, f.kafka.topic("coupon.requested"), 3, 3s);
  CHECK(records.size() == 2);
  for (const auto& r : records) CHECK(r.key.value_or("") == known);
  CHECK(f.count("SELECT count(*) FROM coupon_requests WHERE coupon_id = '" + unknown + "'") == 0);
  CHECK(f.count("SELECT count(*) FROM coupon_requests") == 2);
}

TEST_CASE("POST issue answers 202 after Kafka's acknowledgement and the statusUrl follows the decision") {
  CouponsFixture f;
  ApiUnderTest http_side(f, testing::stack().kafka_bootstrap, 5000ms);

  const std::string coupon_body = R"({"name":"Launch","discount":2000,"totalStock":1,)"
                                  R"("validFrom":"2020-01-01T00:00:00Z","validUntil":"2099-01-01T00:00:00Z"})";
  CHECK(http_side.call("POST", "/v1/coupons", coupon_body).status == 401);
  CHECK(http_side.call("POST", "/v1/coupons", coupon_body, {{"Authorization", "Bearer wrong"}}).status == 403);
  const auto created = http_side.call("POST", "/v1/coupons", coupon_body, {{"Authorization", "Bearer admin-secret"}});
  REQUIRE(created.status == 201);
  const auto c = field(created.body, "couponId");

  const std::vector<http::Header> ann{testing::bearer("ann")}, bob{testing::bearer("bob")};
  CHECK(http_side.call("POST", "/v1/coupons/" + c + "/issue", R"({"userId":"ann"})").status == 401);
  CHECK(http_side.call("POST", "/v1/coupons/" + c + "/issue", R"({"userId":"ann"})", bob).status == 403);
  const auto accepted = http_side.call("POST", "/v1/coupons/" + c + "/issue", R"({"userId":"ann"})", ann);
  REQUIRE(accepted.status == 202);
  const auto status_url = field(accepted.body, "statusUrl");
  // Recorded before the answer: the statusUrl answers at once, to its owner only.
  CHECK(field(http_side.call("GET", status_url, "", ann).body, "status") == "PENDING");
  CHECK(http_side.call("GET", status_url, "", bob).status == 404);
  CHECK(http_side.call("POST", "/v1/coupons/" + c + "/issue", "", bob).status == 202);  // the token says who
  CHECK(http_side.call("POST", "/v1/coupons/not-a-uuid/issue", "", bob).status == 400);

  auto consumer = f.consumer();
  REQUIRE(testing::eventually(
      [&] { return field(http_side.call("GET", status_url, "", ann).body, "status") == "ISSUED"; }, 30s));
  REQUIRE(testing::eventually([&] { return f.decided(c) == 2; }, 30s));
  consumer->stop();
  const auto mine = http_side.call("GET", "/v1/users/ann/coupons", "", ann);
  CHECK(mine.status == 200);
  CHECK(mine.body.find(c) != std::string::npos);
  const auto theirs = http_side.call("GET", "/v1/users/ann/coupons", "", bob);
  CHECK(theirs.status == 404);
  CHECK(theirs.body.find(c) == std::string::npos);
  CHECK(http_side.call("GET", "/v1/coupons/" + c).status == 401);
  CHECK(field(http_side.call("GET", "/v1/coupons/" + c, "", bob).body, "couponId") == c);
  CHECK(http_side.call("GET", "/v1/coupons/" + c, "", bob).body.find("\"remainingStock\":0") != std::string::npos);
  CHECK(http_side.call("GET", "/v1/coupon-requests/" + core::new_uuid_v7(), "", ann).status == 404);
  // A PENDING row written after the decision never overwrites it.
  const auto request_id = status_url.substr(status_url.rfind('/') + 1);
  const std::vector<PendingRequest> late{{request_id, c, "ann", core::now_rfc3339()}};
  REQUIRE(record_pending(f.connection, late).ok());
  CHECK(field(http_side.call("GET", status_url, "", ann).body, "status") == "ISSUED");
}
