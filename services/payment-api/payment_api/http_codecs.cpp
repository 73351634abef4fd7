#include "payment_api/http_codecs.hpp"

#include "auth/http_auth.hpp"
#include "core/json.hpp"
#include "http/request.hpp"

namespace paypipe::payment_api {

namespace {

constexpr std::int64_t max_deposit = 10'000'000'000;

http::Response problem(int status, std::string code, std::string detail,
                       std::vector<std::pair<std::string, std::string>> extensions = {}) {
  return http::problem_response(http::Problem{status, "https://paypipe.dev/problems/" + code,
                                              http::reason_phrase(status), std::move(detail), code,
                                              std::move(extensions)});
}

}  // namespace

core::Result<std::string> idempotency_key(const http::Request& request) {
  const auto key = request.header("idempotency-key");
  if (!key || key->empty()) {
    return core::make_error(core::ErrorCategory::invalid_input, "idempotency-key-required",
                            "the Idempotency-Key header is required: money must never move twice");
  }
  if (key->size() > 200) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-idempotency-key",
                            "the Idempotency-Key header must be at most 200 characters");
  }
  for (const char c : *key) {
    if (c < 0x21 || c > 0x7e) {
      return core::make_error(core::ErrorCategory::invalid_input, "bad-idempotency-key",
                              "the Idempotency-Key header must be printable ASCII");
    }
  }
  return std::string(*key);
}

core::Result<PaymentRequest> parse_payment_request(const http::Request& request, std::string_view subject) {
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  PaymentRequest payment{in.uuid("orderId"), {}, {}};
  const auto claimed = in.optional_text("userId", core::json::id_rule);
  auto key = idempotency_key(request);
  if (!key) in.fail("Idempotency-Key", key.error().message);
  if (auto status = in.status(); !status) return status.error();
  auto user = auth::acting_user(claimed, subject);
  if (!user) return user.error();
  payment.user_id = std::move(user).value();
  payment.idempotency_key = std::move(key).value();
  return payment;
}

std::string payment_json(const StoredPayment& p) {
  core::json::Writer w;
  w.begin_object()
      .field("paymentId", p.id)
      .field("orderId", p.order_id)
      .field("userId", p.user_id)
      .field("amount", p.amount)
      .field("currency", p.currency)
      .field("status", p.status)
      .field("createdAt", p.created_at);
  if (p.failure_reason) w.field("failureReason", *p.failure_reason);
  w.field("statusUrl", "/v1/payments/" + p.id).field("streamUrl", std::string(payment_stream_path));
  w.end_object();
  return w.take();
}

http::Response payment_response(const core::Result<Decision>& result) {
  if (!result) return http::error_response(result.error());
  const auto& d = *result;
  const auto failed = [](const StoredPayment& p) {
    return problem(402, "insufficient-funds", "the wallet does not hold the order's total; the payment failed",
                   {{"paymentId", p.id}, {"orderId", p.order_id}});
  };
  switch (d.verdict) {
    case Verdict::charge: return http::Response::json(201, payment_json(*d.previous));
    case Verdict::insufficient_funds: return failed(*d.previous);
    case Verdict::replay: {
      auto response = d.previous->status == "FAILED" ? failed(*d.previous)
                                                     : http::Response::json(201, payment_json(*d.previous));
      response.headers.push_back({"Idempotent-Replayed", "true"});
      return response;
    }
    case Verdict::key_reused: return problem(422, "idempotency-key-reused", d.detail);
    case Verdict::order_not_found: return problem(404, "order-not-found", d.detail);
    case Verdict::wrong_user:
      // Another user's order is not shown to exist.
      return problem(404, "order-not-found", d.detail);
    case Verdict::not_payable: return problem(409, "order-not-payable", d.detail);
    case Verdict::currency_mismatch: return problem(422, "currency-mismatch", d.detail);
  }
  return problem(500, "internal", "internal error; see the service log");
}

core::Result<DepositRequest> parse_deposit_request(const http::Request& request) {
  const std::string user_id(request.param("userId"));
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  DepositRequest deposit{user_id, in.integer("amount", 1, max_deposit), {}};
  if (!http::is_plain_id(user_id)) in.fail("userId", "may contain only letters, digits and _ - . : (1 to 64)");
  auto key = idempotency_key(request);
  if (!key) in.fail("Idempotency-Key", key.error().message);
  if (auto status = in.status(); !status) return status.error();
  deposit.idempotency_key = std::move(key).value();
  return deposit;
}

std::string deposit_json(const Deposit& d) {
  core::json::Writer w;
  w.begin_object()
      .field("depositId", d.id)
      .field("userId", d.user_id)
      .field("amount", d.amount)
      .field("balance", d.balance_after)
      .field("createdAt", d.created_at)
      .end_object();
  return w.take();
}

std::string wallet_json(const Wallet& wallet) {
  core::json::Writer w;
  w.begin_object()
      .field("userId", wallet.user_id)
      .field("balance", wallet.balance)
      .field("currency", wallet.currency)
      .field("updatedAt", wallet.updated_at)
      .end_object();
  return w.take();
}

}  // namespace paypipe::payment_api
