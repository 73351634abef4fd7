// payment-api as a process: ready quickly, a payment end to end through its HTTP API to
// Kafka with the caller's trace, a clean stop on SIGTERM.
#include <catch2/catch.hpp>

#include <fstream>

#include "contracts/order_created.hpp"
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

TEST_CASE("payment-api takes a deposit and a payment and announces it on Kafka with the caller's trace") {
  testing::System system;
  testing::Daemon api(system, "payment-api");
  api.wait_ready();

  // A deposit is a payment provider's call (a service token), never alice's own.
  auto refused = api.post("/v1/wallets/alice/deposits", R"({"amount":10000})",
                          {{"Idempotency-Key", "d0"}, testing::bearer("alice")});
  REQUIRE(refused.ok());
  CHECK(refused->status == 403);
  auto deposit = api.post("/v1/wallets/alice/deposits", R"({"amount":10000})",
                          {{"Idempotency-Key", "d1"}, testing::deposit_credential()});
  REQUIRE(deposit.ok());
  CHECK(deposit->status == 201);

  // order-processor's announcement, sent directly.
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());
  const auto order_id = core::new_uuid_v7();
  const contracts::OrderCreated order{order_id,
                                      "alice",
                                      {{"seat-1", 1, 3000}},
                                      3000,
                                      "KRW",
                                      "SHIPPING",
                                      core::format_rfc3339(core::now_ms() + 10min),
                                      core::now_rfc3339()};
  REQUIRE((*producer)
              ->send_and_wait({system.kafka().topic("order.created"), order_id, contracts::encode(order),
                               events::to_headers(events::make_event("order.created", "/test", order_id, ""))},
                              10s)
              .ok());

  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string body = R"({"orderId":")" + order_id + R"(","userId":"alice"})";
  core::Result<http::ClientResponse> paid = core::make_error(core::ErrorCategory::internal, "unset", "");
  REQUIRE(testing::eventually(
      [&] {
        paid = api.post("/v1/payments", body,
                        {{"Idempotency-Key", "p1"},
                         {"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01"},
                         testing::bearer("alice")});
        return paid.ok() && paid->status != 404;  // 404 until the projection has the order
      },
      20s, 50ms));
  REQUIRE(paid->status == 201);
  auto payment = core::json::parse(paid->body);
  REQUIRE(payment.ok());
  const std::string payment_id = (*payment)["paymentId"].GetString();

  auto wallet = api.get("/v1/wallets/alice", {testing::bearer("alice")});
  REQUIRE(wallet.ok());
  CHECK(wallet->body.find("\"balance\":7000") != std::string::npos);
  auto again = api.get("/v1/payments/" + payment_id, {testing::bearer("alice")});
  REQUIRE(again.ok());
  CHECK(again->status == 200);
  // Another user sees neither the payment nor the wallet.
  CHECK(api.get("/v1/payments/" + payment_id, {testing::bearer("bob")})->status == 404);
  CHECK(api.get("/v1/wallets/alice", {testing::bearer("bob")})->status == 404);
  CHECK(api.get("/v1/wallets/alice")->status == 401);

  const auto records = testing::read_topic(system.kafka(), system.kafka().topic("payment.completed"), 1, 20s);
  REQUIRE(records.size() == 1);
  CHECK(records[0].key == order_id);
  const auto* traceparent = events::find_header(records[0].headers, "traceparent");
  REQUIRE(traceparent != nullptr);
  CHECK(traceparent->substr(3, 32) == trace_id);

  CHECK(api.stop() == 0);
}

TEST_CASE("payment-api refuses bad input with problem+json and never crashes") {
  testing::System system;
  testing::Daemon api(system, "payment-api", {{"PAYPIPE_HTTP_BODY_LIMIT_BYTES", "1024"}});
  api.wait_ready();
  const auto a = testing::bearer("a");
  auto no_key = api.post("/v1/payments", R"({"orderId":"0190a6b2-7c3e-7abc-8def-0123456789ab","userId":"a"})", {a});
  REQUIRE(no_key.ok());
  CHECK(no_key->status == 400);
  CHECK(no_key->header("content-type") == "application/problem+json");
  auto garbage = api.post("/v1/payments", "{\"orderId\":", {{"Idempotency-Key", "k"}, a});
  REQUIRE(garbage.ok());
  CHECK(garbage->status == 400);
  auto huge = api.post("/v1/payments", std::string(4096, ' '), {{"Idempotency-Key", "k"}, a});
  REQUIRE(huge.ok());
  CHECK(huge->status == 413);
  auto unknown = api.post("/v1/payments", R"({"orderId":"0190a6b2-7c3e-7abc-8def-0123456789ab","userId":"a"})",
                          {{"Idempotency-Key", "k"}, a});
  REQUIRE(unknown.ok());
  CHECK(unknown->status == 404);
  auto bad_id = api.get("/v1/payments/not-a-uuid", {a});
  REQUIRE(bad_id.ok());
  CHECK(bad_id->status == 400);
  CHECK(api.running());
  auto metrics = api.get("/metrics");
  REQUIRE(metrics.ok());
  CHECK(metrics->body.find("http_server_requests_total") != std::string::npos);
}

TEST_CASE("a daemon with a bad configuration names every problem and exits 2") {
  testing::System system;
  testing::Daemon api(system, "payment-api", {{"PAYPIPE_HTTP_WORKERS", "lots"}, {"PAYPIPE_PAYMENT_BATCH_SIZ", "8"}});
  REQUIRE(testing::eventually([&] { return !api.running(); }, 10s));
  std::ifstream log(api.log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("PAYPIPE_HTTP_WORKERS: must be an integer") != std::string::npos);
  CHECK(text.find("PAYPIPE_PAYMENT_BATCH_SIZ: unknown variable") != std::string::npos);
}

TEST_CASE("payment-api returns the trace to its callers, logs JSON fields, and takes a new log level at run time") {
  testing::System system;
  testing::Daemon api(system, "payment-api", {{"PAYPIPE_ADMIN_TOKEN", "adm-e2e"}, {"PAYPIPE_LOG_FORMAT", "json"}});
  api.wait_ready();
  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  const http::Header traceparent{"traceparent", "00-" + trace_id + "-b7ad6b7169203331-01"};

  // A problem answer names the caller's trace in its header and its body.
  auto missing = api.get("/v1/payments/0190a6b2-7c3e-7abc-8def-0123456789ab", {testing::bearer("a"), traceparent});
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  const auto answered = missing->header("traceparent");
  REQUIRE(answered);
  CHECK(answered->substr(3, 32) == trace_id);
  auto problem = core::json::parse(missing->body);
  REQUIRE(problem.ok());
  REQUIRE(problem->HasMember("traceId"));
  CHECK(std::string((*problem)["traceId"].GetString()) == trace_id);

  const http::Header json{"content-type", "application/json"};
  auto anonymous = api.request("PUT", "/v1/admin/log-level", R"({"level":"debug"})", {json});
  REQUIRE(anonymous.ok());
  CHECK(anonymous->status == 401);
  auto changed = api.request("PUT", "/v1/admin/log-level", R"({"level":"debug"})",
                             {json, {"Authorization", "Bearer adm-e2e"}, traceparent});
  REQUIRE(changed.ok());
  CHECK(changed->status == 200);
  CHECK(changed->body == R"({"previous":"info","level":"debug"})");
  CHECK(api.stop() == 0);

  // Every line is one JSON object; the change was logged with the request's trace.
  std::ifstream log(api.log_path());
  std::string line;
  bool seen = false;
  while (std::getline(log, line)) {
    if (line.empty() || line.front() != '{') continue;  // librdkafka's own stderr, if any
    auto entry = core::json::parse(line);
    INFO(line);
    REQUIRE(entry.ok());
    CHECK(std::string((*entry)["service"].GetString()) == "payment-api");
    const std::string msg = (*entry)["msg"].GetString();
    if (msg.find("log level changed") == std::string::npos) continue;
    seen = true;
    REQUIRE(entry->HasMember("trace_id"));
    CHECK(std::string((*entry)["trace_id"].GetString()) == trace_id);
    CHECK(entry->HasMember("span_id"));
  }
  CHECK(seen);
}
