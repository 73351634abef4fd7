// Fuzzes HTTP request handling up to the handler: Beast's parser with the server's
// limits, our Request, target decoding, routing, the JSON body and payment-api's
// request codecs, with the bearer token of the Authorization header checked as the
// daemons check it (HS256 here, so a token the fuzzer finds can verify). Raw bytes in;
// an answer or a clean refusal out.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/http_auth.hpp"
#include "http/parse.hpp"
#include "http/router.hpp"
#include "payment_api/http_codecs.hpp"

using namespace paypipe;

namespace {

const http::Router& router() {
  static const http::Router instance = [] {
    http::Router r;
    auto ok = [](const http::Request&) { return http::Response::json(200, "{}"); };
    r.post("/v1/payments", ok).get("/v1/payments/{paymentId}", ok);
    r.post("/v1/wallets/{userId}/deposits", ok).get("/v1/wallets/{userId}", ok);
    return r;
  }();
  return instance;
}

const auth::Authenticator& authenticator() {
  static const auto instance = [] {
    auth::Settings s;
    s.issuer = "fuzz";
    s.audience = "paypipe";
    s.hs256_secret = "a-local-secret-of-32-characters!";
    return auth::Authenticator::create(s).value();
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto request = http::parse_request(std::string_view(reinterpret_cast<const char*>(data), size), 8 * 1024, 16 * 1024);
  if (!request) return 0;
  auto match = router().match(request->method, http::raw_path(request->target));
  if (match.route == nullptr) return 0;
  request->path_params = match.params;
  (void)http::require_bearer(*request, "token");
  const auto who = auth::authenticate(*request, authenticator());
  const std::string subject = who ? who->subject : "fuzz-user";
  if (match.route->pattern == "/v1/payments") {
    auto parsed = payment_api::parse_payment_request(*request, subject);
    (void)parsed;
  } else if (match.route->pattern == "/v1/wallets/{userId}/deposits") {
    (void)payment_api::parse_deposit_request(*request);
  }
  (void)match.route->handler(*request);
  return 0;
}
