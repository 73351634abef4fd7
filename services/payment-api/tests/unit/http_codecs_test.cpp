#include "payment_api/http_codecs.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"

using namespace paypipe;
using namespace paypipe::payment_api;

namespace {

http::Request post(std::string body, std::optional<std::string> key = "key-1") {
  http::Request r;
  r.method = "POST";
  r.body = std::move(body);
  r.headers.push_back({"content-type", "application/json"});
  if (key) r.headers.push_back({"idempotency-key", *key});
  return r;
}

// The request as user "a" sends it.
core::Result<PaymentRequest> parse_payment_request(const http::Request& request) {
  return payment_api::parse_payment_request(request, "a");
}

}  // namespace

TEST_CASE("the paying user is the token's; a userId in the body must be that user") {
  auto from_token = payment_api::parse_payment_request(post(R"({"orderId":"0190a6b2-7c3e-7abc-8def-00000000000a"})"),
                                                       "bob");
  REQUIRE(from_token.ok());
  CHECK(from_token->user_id == "bob");
  auto same = payment_api::parse_payment_request(
      post(R"({"orderId":"0190a6b2-7c3e-7abc-8def-00000000000a","userId":"bob"})"), "bob");
  REQUIRE(same.ok());
  CHECK(same->user_id == "bob");
  auto other = payment_api::parse_payment_request(
      post(R"({"orderId":"0190a6b2-7c3e-7abc-8def-00000000000a","userId":"alice"})"), "bob");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().category == core::ErrorCategory::forbidden);
  CHECK(other.error().code == "user-mismatch");
}

TEST_CASE("a payment request needs a UUID order, a user and an Idempotency-Key") {
  auto ok = parse_payment_request(post(R"({"orderId":"0190A6B2-7C3E-7ABC-8DEF-00000000000A","userId":"a"})"));
  REQUIRE(ok.ok());
  CHECK(ok->order_id == "0190a6b2-7c3e-7abc-8def-00000000000a");
  CHECK(ok->idempotency_key == "key-1");

  auto bad = parse_payment_request(post(R"({"orderId":"x","userId":"a l i c e"})", std::nullopt));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  CHECK(bad.error().message.find("orderId") != std::string::npos);
  CHECK(bad.error().message.find("userId") != std::string::npos);
  CHECK(bad.error().message.find("Idempotency-Key") != std::string::npos);

  CHECK_FALSE(parse_payment_request(post("{", "k")).ok());
  CHECK_FALSE(parse_payment_request(
                  post(R"({"orderId":"0190a6b2-7c3e-7abc-8def-00000000000a","userId":"a"})", std::string(201, 'k')))
                  .ok());
  CHECK_FALSE(parse_payment_request(
                  post(R"({"orderId":"0190a6b2-7c3e-7abc-8def-00000000000a","userId":"a"})", std::string("k\x01")))
                  .ok());
}

TEST_CASE("decisions become the right status and problem") {
  StoredPayment p{"p1", "o1", "alice", 3000, "KRW", "COMPLETED", std::nullopt, "o1:alice", "2027-01-15T08:00:00.000Z",
                  "k1"};
  Decision charge{Verdict::charge, 3000, "KRW", p, "", 7000};
  auto created = payment_response(charge);
  CHECK(created.status == 201);
  auto doc = core::json::parse(created.body);
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["status"].GetString()) == "COMPLETED");
  CHECK((*doc)["amount"].GetInt64() == 3000);

  auto failed_payment = p;
  failed_payment.status = "FAILED";
  failed_payment.failure_reason = "INSUFFICIENT_FUNDS";
  auto refused = payment_response(Decision{Verdict::insufficient_funds, 3000, "KRW", failed_payment, "", 0});
  CHECK(refused.status == 402);
  CHECK(refused.content_type == "application/problem+json");
  CHECK(refused.body.find("\"paymentId\":\"p1\"") != std::string::npos);

  auto replay = payment_response(Decision{Verdict::replay, 0, "", p, "", 0});
  CHECK(replay.status == 201);
  CHECK(replay.headers.at(0).name == "Idempotent-Replayed");
  auto replay_failed = payment_response(Decision{Verdict::replay, 0, "", failed_payment, "", 0});
  CHECK(replay_failed.status == 402);

  CHECK(payment_response(Decision{Verdict::key_reused, 0, "", std::nullopt, "d", 0}).status == 422);
  CHECK(payment_response(Decision{Verdict::order_not_found, 0, "", std::nullopt, "d", 0}).status == 404);
  // Another user's order is answered as an unknown one.
  CHECK(payment_response(Decision{Verdict::wrong_user, 0, "", std::nullopt, "d", 0}).status == 404);
  CHECK(payment_response(Decision{Verdict::not_payable, 0, "", std::nullopt, "d", 0}).status == 409);
  auto mismatch = payment_response(Decision{Verdict::currency_mismatch, 0, "", std::nullopt, "in USD, wallet KRW", 0});
  CHECK(mismatch.status == 422);
  CHECK(mismatch.body.find("https://paypipe.dev/problems/currency-mismatch") != std::string::npos);
  CHECK(mismatch.body.find("in USD, wallet KRW") != std::string::npos);
  CHECK(payment_response(core::make_error(core::ErrorCategory::unavailable, "pg", "down")).status == 503);
}

TEST_CASE("a deposit needs a positive amount, a valid user and a key") {
  auto r = post(R"({"amount":5000})");
  r.path_params["userId"] = "alice";
  auto ok = parse_deposit_request(r);
  REQUIRE(ok.ok());
  CHECK(ok->amount == 5000);
  r.body = R"({"amount":0})";
  CHECK_FALSE(parse_deposit_request(r).ok());
  r.body = R"({"amount":5000})";
  r.path_params["userId"] = "al ice";
  CHECK_FALSE(parse_deposit_request(r).ok());
}
