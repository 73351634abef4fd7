#pragma once
// payment-api's HTTP bodies: requests parsed from JSON (every bad field named), answers
// written as JSON or problem+json. Pure: tests/unit/http_codecs_test.cpp.

#include <optional>
#include <string>

#include "core/error.hpp"
#include "http/http.hpp"
#include "payment_api/payment_rules.hpp"
#include "payment_api/payment_store.hpp"

namespace paypipe::payment_api {

// POST /v1/payments: {orderId, userId?} and the Idempotency-Key header (required), for
// the token's user `subject` (a userId in the body must be the same user).
core::Result<PaymentRequest> parse_payment_request(const http::Request& request, std::string_view subject);

// The answer to a payment request, from its decision or the error that stopped it.
http::Response payment_response(const core::Result<Decision>& result);

// Where a user watches their payments (the answers' streamUrl).
inline constexpr std::string_view payment_stream_path = "/v1/payments/stream";

std::string payment_json(const StoredPayment& payment);

// POST /v1/wallets/{userId}/deposits: {amount} and the Idempotency-Key header.
struct DepositRequest {
  std::string user_id;
  std::int64_t amount = 0;
  std::string idempotency_key;
};
core::Result<DepositRequest> parse_deposit_request(const http::Request& request);
std::string deposit_json(const Deposit& deposit);
std::string wallet_json(const Wallet& wallet);

// The Idempotency-Key header: 1 to 200 printable ASCII characters.
core::Result<std::string> idempotency_key(const http::Request& request);

}  // namespace paypipe::payment_api
