#include "notification_sender/telegram.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;
using namespace std::chrono_literals;

namespace {

core::Result<http::ClientResponse> answer(int status, std::string body, std::vector<http::Header> headers = {}) {
  return http::ClientResponse{status, std::move(headers), std::move(body)};
}

}  // namespace

TEST_CASE("sendMessage goes to /bot<token>/sendMessage with the chat id as a number when it is one") {
  TelegramSettings s{"http://127.0.0.1:9000", "123:SECRET", 30000ms, 1000ms};
  auto r = send_message_request(s, "-100123", "안녕 \"you\"");
  CHECK(r.method == "POST");
  CHECK(r.url == "http://127.0.0.1:9000/bot123:SECRET/sendMessage");
  CHECK(r.timeout == 30000ms);
  auto body = core::json::parse(r.body);
  REQUIRE(body.ok());
  REQUIRE((*body)["chat_id"].IsInt64());
  CHECK((*body)["chat_id"].GetInt64() == -100123);
  CHECK(std::string((*body)["text"].GetString()) == "안녕 \"you\"");

  auto channel = core::json::parse(send_message_request(s, "@ops", "x").body);
  REQUIRE(channel.ok());
  CHECK(std::string((*channel)["chat_id"].GetString()) == "@ops");
}

TEST_CASE("a 200 is a success and keeps the message id") {
  auto v = classify_telegram(answer(200, R"({"ok":true,"result":{"message_id":77,"text":"x"}})"), 1000ms);
  CHECK(v.outcome.succeeded());
  CHECK(v.message_id == 77);
  CHECK(v.failure == SendFailure::none);
}

TEST_CASE("a 429 is retryable and honours Retry-After from the header or the body") {
  auto header = classify_telegram(answer(429, R"({"ok":false})", {{"Retry-After", "7"}}), 1000ms);
  CHECK(header.outcome.kind == events::Outcome::Kind::retryable);
  CHECK(header.failure == SendFailure::rate_limited);
  CHECK(header.retry_after == 7000ms);
  CHECK(header.outcome.retry_after == 7000ms);
  CHECK(header.outcome.error_class == "paypipe.notification-sender.TelegramRateLimited");

  auto body = classify_telegram(
      answer(
          429,
          R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}})"),
      1000ms);
  CHECK(body.retry_after == 3000ms);
  CHECK(body.outcome.message.find("Too Many Requests") != std::string::npos);

  auto neither = classify_telegram(answer(429, "not json", {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}), 1500ms);
  CHECK(neither.retry_after == 1500ms);
}

TEST_CASE("5xx, timeouts and connection errors retry; 400, 403 and 404 are fatal") {
  for (const int status : {500, 502, 503, 504, 408}) {
    auto v = classify_telegram(answer(status, R"({"ok":false,"description":"Internal Server Error"})"), 1000ms);
    CHECK(v.outcome.kind == events::Outcome::Kind::retryable);
    CHECK(v.failure == SendFailure::server_error);
    CHECK(v.outcome.error_class == "paypipe.notification-sender.TelegramUnavailable");
  }
  for (const int status : {400, 401, 403, 404}) {
    auto v = classify_telegram(answer(status, R"({"ok":false,"description":"Bad Request: chat not found"})"), 1000ms);
    CHECK(v.outcome.kind == events::Outcome::Kind::fatal);
    CHECK(v.failure == SendFailure::rejected);
    CHECK(v.outcome.message.find("chat not found") != std::string::npos);
  }
  auto timeout = classify_telegram(
      core::make_error(core::ErrorCategory::unavailable, "http-timeout", "request to http://127.0.0.1:1 timed out"),
      1000ms);
  CHECK(timeout.outcome.kind == events::Outcome::Kind::retryable);
  CHECK(timeout.failure == SendFailure::timeout);
  CHECK(timeout.outcome.error_class == "paypipe.notification-sender.TelegramTimeout");
  auto refused = classify_telegram(
      core::make_error(core::ErrorCategory::unavailable, "http-connect", "cannot connect to http://127.0.0.1:1"),
      1000ms);
  CHECK(refused.failure == SendFailure::connection);
  CHECK(refused.outcome.kind == events::Outcome::Kind::retryable);
}

TEST_CASE("a failure's message never carries the token-bearing URL") {
  auto v = classify_telegram(answer(500, std::string(5000, 'x')), 1000ms);
  CHECK(v.outcome.message.find("/bot") == std::string::npos);
  CHECK(v.outcome.message.size() < 300);
}

TEST_CASE("a Retry-After beyond the cap, or one that is no number, is a failure to retry later, not a wait") {
  // Each of these once closed the gate for as long as it said (86,400 s: a day), or
  // overflowed steady_clock arithmetic (a thousand billion seconds).
  for (const std::string value : {"86400", "1000000000000", "9223372036854775807", "99999999999999999999999"}) {
    INFO(value);
    auto v = classify_telegram(answer(429, R"({"ok":false})", {{"Retry-After", value}}), 1000ms, 300000ms);
    CHECK(v.outcome.kind == events::Outcome::Kind::retryable);
    CHECK(v.failure == SendFailure::rate_limited);
    CHECK(v.outcome.error_class == "paypipe.notification-sender.TelegramRetryAfterRefused");
    CHECK_FALSE(v.outcome.retry_after.has_value());  // the policy's backoff, then the DLQ and dlq-retrier
    REQUIRE(v.retry_after.has_value());
    CHECK(*v.retry_after == 300000ms);  // the gate closes for the cap at most
  }
  for (const std::string value : {"-5", "1e12", "soon", "3.5"}) {
    INFO(value);
    auto v = classify_telegram(answer(429, R"({"ok":false})", {{"Retry-After", value}}), 1000ms, 300000ms);
    CHECK(v.outcome.kind == events::Outcome::Kind::retryable);
    CHECK(v.outcome.error_class == "paypipe.notification-sender.TelegramRetryAfterRefused");
    CHECK_FALSE(v.outcome.retry_after.has_value());
    CHECK(v.retry_after == 1000ms);  // the default wait for a 429 that names none usable
  }
  // The body's parameters.retry_after the same way.
  auto body = classify_telegram(answer(429, R"({"ok":false,"parameters":{"retry_after":86400}})"), 1000ms, 300000ms);
  CHECK(body.outcome.error_class == "paypipe.notification-sender.TelegramRetryAfterRefused");
  CHECK(body.retry_after == 300000ms);
  auto negative = classify_telegram(answer(429, R"({"ok":false,"parameters":{"retry_after":-1}})"), 1000ms, 300000ms);
  CHECK(negative.outcome.error_class == "paypipe.notification-sender.TelegramRetryAfterRefused");
  // At the cap exactly: honoured.
  auto at_cap = classify_telegram(answer(429, R"({"ok":false})", {{"Retry-After", "300"}}), 1000ms, 300000ms);
  CHECK(at_cap.outcome.error_class == "paypipe.notification-sender.TelegramRateLimited");
  CHECK(at_cap.outcome.retry_after == 300000ms);
  CHECK(at_cap.retry_after == 300000ms);
}

TEST_CASE("a timeout or a connection lost after the request was written is a maybe-sent; a refusal is not") {
  auto timeout = classify_telegram(
      core::make_error(core::ErrorCategory::unavailable, "http-timeout", "request to http://127.0.0.1:1 timed out"),
      1000ms);
  CHECK(timeout.maybe_sent);
  CHECK(timeout.outcome.kind == events::Outcome::Kind::retryable);  // resent by the in-process retry (see telegram.hpp)
  auto cut = classify_telegram(core::make_error(core::ErrorCategory::unavailable, "http-io",
                                                "request to http://127.0.0.1:1 failed: end of stream"),
                               1000ms);
  CHECK(cut.maybe_sent);
  CHECK(cut.failure == SendFailure::connection);
  auto refused = classify_telegram(
      core::make_error(core::ErrorCategory::unavailable, "http-connect", "cannot connect to http://127.0.0.1:1"),
      1000ms);
  CHECK_FALSE(refused.maybe_sent);
  CHECK_FALSE(classify_telegram(answer(503, "{}"), 1000ms).maybe_sent);
  CHECK_FALSE(classify_telegram(answer(429, "{}"), 1000ms).maybe_sent);
  CHECK_FALSE(classify_telegram(answer(200, R"({"ok":true})"), 1000ms).maybe_sent);
}
