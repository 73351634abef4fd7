#pragma once
// The rules of a payment, as pure code: given what the database holds about the
// request's idempotency key, its order and its user's wallet, decide what happens.
// No database, no Kafka: unit-tested on its own (tests/unit/payment_rules_test.cpp).
//
// A batch of requests is decided one after another against one LedgerView, which each
// decision updates, so two requests of one batch see each other exactly as two
// requests in sequence would (same key twice, same order twice, same wallet twice).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/time.hpp"

namespace paypipe::payment_api {

struct PaymentRequest {
  std::string order_id;
  std::string user_id;
  std::string idempotency_key;

  // What a reused idempotency key must match: the same order for the same user.
  std::string fingerprint() const { return order_id + ":" + user_id; }
};

struct StoredPayment {
  std::string id;
  std::string order_id;
  std::string user_id;
  std::int64_t amount = 0;
  std::string currency;
  std::string status;  // COMPLETED | FAILED | REFUNDED
  std::optional<std::string> failure_reason;
  std::string fingerprint;
  std::string created_at;  // RFC 3339
  std::string idempotency_key;
};

struct PayableOrder {
  std::string order_id;
  std::string user_id;
  std::int64_t amount = 0;
  std::string currency;
  std::string status;  // PAYABLE | PAID | PAYMENT_FAILED | CANCELLED
  core::SystemTime expires_at;
};

struct LedgerView {
  std::map<std::string, StoredPayment> payments_by_key;  // key_of(user, idempotency key)
  std::map<std::string, PayableOrder> orders;            // by order id
  std::map<std::string, std::int64_t> balances;          // by user id; no wallet = 0
  std::map<std::string, std::string> wallet_currencies;  // by user id, from the wallet rows
  std::string currency = "KRW";  // PAYPIPE_CURRENCY: a wallet not yet created will be in it

  static std::string key_of(const std::string& user_id, const std::string& idempotency_key) {
    return user_id + '\n' + idempotency_key;
  }
};

enum class Verdict {
  charge,              // money moves: payment COMPLETED, payment.completed
  insufficient_funds,  // payment FAILED, payment.failed, the order is doomed
  replay,              // the key was used before for this request: same answer again
  key_reused,          // the key was used before for another request (422)
  order_not_found,     // 404: unknown order (or order.created not seen yet)
  wrong_user,          // 404 like an unknown order: it belongs to someone else
  not_payable,         // 409: paid, failed, cancelled or expired
  currency_mismatch,   // 422: the order's currency is not the wallet's; nothing written
};

struct Decision {
  Verdict verdict = Verdict::order_not_found;
  std::int64_t amount = 0;
  std::string currency;
  std::optional<StoredPayment> previous;  // replay: what was stored
  std::string detail;                     // for the problem answer
  std::int64_t balance_after = 0;         // charge: the wallet afterwards
};

// Decides `request` and, for charge and insufficient_funds, updates `view` as the
// writes will (new payment under its key, order status, balance). `new_payment` is
// the stored form of a payment this decision creates (id and time chosen by the caller).
Decision decide(const PaymentRequest& request, LedgerView& view, core::SystemTime now,
                const StoredPayment& new_payment);

}  // namespace paypipe::payment_api
