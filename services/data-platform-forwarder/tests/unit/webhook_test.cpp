#include "data_platform_forwarder/webhook.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "data_platform_forwarder/delivery_status.hpp"

using namespace paypipe;
using namespace paypipe::data_platform_forwarder;
using namespace std::chrono_literals;

namespace {

events::Event sample() {
  events::Event e;
  e.id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  e.type = "dev.paypipe.payment.completed.v1";
  e.source = "/paypipe/payment-api";
  e.time = "2027-01-15T08:00:00.123Z";
  e.dataschema = "https://paypipe.dev/schemas/events/payment.completed.v1.json";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  e.key = "0190a6b2-7c3e-7abc-8def-00000000000b";
  e.data = R"({"paymentId":"p","amount":3000})";
  return e;
}

core::Result<http::ClientResponse> answer(int status, std::vector<http::Header> headers = {}, std::string body = {}) {
  return http::ClientResponse{status, std::move(headers), std::move(body)};
}

}  // namespace

TEST_CASE("the body is the event in CloudEvents JSON structured mode, with its data as it is") {
  auto doc = core::json::parse(cloudevent_json(sample()));
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["specversion"].GetString()) == "1.0");
  CHECK(std::string((*doc)["id"].GetString()) == sample().id);
  CHECK(std::string((*doc)["type"].GetString()) == "dev.paypipe.payment.completed.v1");
  CHECK(std::string((*doc)["source"].GetString()) == "/paypipe/payment-api");
  CHECK(std::string((*doc)["time"].GetString()) == "2027-01-15T08:00:00.123Z");
  CHECK(std::string((*doc)["datacontenttype"].GetString()) == "application/json");
  CHECK(std::string((*doc)["dataschema"].GetString()) ==
        "https://paypipe.dev/schemas/events/payment.completed.v1.json");
  CHECK(std::string((*doc)["partitionkey"].GetString()) == sample().key);
  REQUIRE((*doc)["data"].IsObject());
  CHECK((*doc)["data"]["amount"].GetInt64() == 3000);

  auto bare = sample();
  bare.dataschema.clear();
  auto doc2 = core::json::parse(cloudevent_json(bare));
  REQUIRE(doc2.ok());
  CHECK_FALSE(doc2->HasMember("dataschema"));
}

TEST_CASE("the request carries the auth header from the environment and Idempotency-Key = event id") {
  WebhookSettings s{"https://analytics.example.com/hooks/paypipe", "Bearer s3cret", 10000ms};
  auto r = webhook_request(s, sample());
  CHECK(r.method == "POST");
  CHECK(r.url == s.url);
  CHECK(r.timeout == 10000ms);
  auto header = [&](const std::string& name) -> std::string {
    for (const auto& h : r.headers) {
      if (h.name == name) return h.value;
    }
    return "<none>";
  };
  CHECK(header("Idempotency-Key") == sample().id);
  CHECK(header("Authorization") == "Bearer s3cret");
  CHECK(header("Content-Type") == "application/cloudevents+json; charset=utf-8");
  CHECK(header("traceparent") == sample().traceparent);
  CHECK(r.body == cloudevent_json(sample()));

  s.authorization.clear();
  auto anonymous = webhook_request(s, sample());
  for (const auto& h : anonymous.headers) CHECK(h.name != "Authorization");
}

TEST_CASE("2xx delivers; 5xx, 408, 429 and transport errors retry; other statuses are fatal") {
  CHECK(classify_webhook(answer(200)).outcome.succeeded());
  CHECK(classify_webhook(answer(204)).outcome.succeeded());
  CHECK(classify_webhook(answer(202)).http_status == 202);

  for (const int status : {500, 502, 503, 504, 408}) {
    auto v = classify_webhook(answer(status, {}, "upstream\nbroken"));
    CHECK(v.outcome.kind == events::Outcome::Kind::retryable);
    CHECK(v.reason == "server_error");
    CHECK(v.http_status == status);
    CHECK(v.outcome.message.find('\n') == std::string::npos);
  }
  auto limited = classify_webhook(answer(429, {{"Retry-After", "3"}}));
  CHECK(limited.outcome.kind == events::Outcome::Kind::retryable);
  CHECK(limited.outcome.retry_after == 3000ms);
  CHECK(limited.outcome.error_class == "paypipe.data-platform-forwarder.WebhookRateLimited");
  CHECK_FALSE(classify_webhook(answer(429)).outcome.retry_after.has_value());

  for (const int status : {400, 401, 403, 404, 409, 422, 301}) {
    auto v = classify_webhook(answer(status));
    CHECK(v.outcome.kind == events::Outcome::Kind::fatal);
    CHECK(v.reason == "rejected");
  }
  auto timeout = classify_webhook(core::make_error(core::ErrorCategory::unavailable, "http-timeout", "timed out"));
  CHECK(timeout.outcome.kind == events::Outcome::Kind::retryable);
  CHECK(timeout.reason == "timeout");
  CHECK_FALSE(timeout.http_status.has_value());
  auto down = classify_webhook(core::make_error(core::ErrorCategory::unavailable, "http-connect", "refused"));
  CHECK(down.reason == "connection");
  CHECK(down.outcome.error_class == "paypipe.data-platform-forwarder.WebhookUnreachable");
}

TEST_CASE("after a try: success completes, a retryable failure waits unless it was the last try, fatal is dead") {
  const auto ok = events::Outcome::ok();
  const auto again = events::Outcome::retry("x", "y");
  const auto refused = events::Outcome::fail("x", "y");
  CHECK(status_after(ok, false) == DeliveryStatus::completed);
  CHECK(status_after(ok, true) == DeliveryStatus::completed);
  CHECK(status_after(again, false) == DeliveryStatus::failed);
  CHECK(status_after(again, true) == DeliveryStatus::dead_letter);
  CHECK(status_after(refused, false) == DeliveryStatus::dead_letter);
  for (const auto s : {DeliveryStatus::published, DeliveryStatus::in_progress, DeliveryStatus::completed,
                       DeliveryStatus::failed, DeliveryStatus::dead_letter}) {
    CHECK(parse_status(to_string(s)) == s);
  }
  CHECK_FALSE(parse_status("completed").has_value());
}

TEST_CASE("a Retry-After beyond the cap, negative or not a number is a failure to retry later, never a wait") {
  for (const std::string value : {"86400", "1000000000000", "9223372036854775807", "99999999999999999999", "-5", "1e12",
                                  "soon", "Wed, 21 Oct 2015 07:28:00 GMT"}) {
    INFO(value);
    auto v = classify_webhook(answer(429, {{"Retry-After", value}}), 300000ms);
    CHECK(v.outcome.kind == events::Outcome::Kind::retryable);
    CHECK(v.reason == "rate_limited");
    CHECK(v.outcome.error_class == "paypipe.data-platform-forwarder.WebhookRetryAfterRefused");
    CHECK_FALSE(v.outcome.retry_after.has_value());  // the policy's backoff
  }
  auto at_cap = classify_webhook(answer(429, {{"Retry-After", "300"}}), 300000ms);
  CHECK(at_cap.outcome.error_class == "paypipe.data-platform-forwarder.WebhookRateLimited");
  CHECK(at_cap.outcome.retry_after == 300000ms);
  auto over_small_cap = classify_webhook(answer(429, {{"Retry-After", "3"}}), 2000ms);
  CHECK(over_small_cap.outcome.error_class == "paypipe.data-platform-forwarder.WebhookRetryAfterRefused");
}
