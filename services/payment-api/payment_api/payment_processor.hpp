#pragma once
// Decides and records a batch of payment requests in ONE transaction, every answer
// known only after the shared commit.
//
// Fast path: two round trips for the whole batch (see payment_store.hpp). If anything
// fails there (a key raced in by another replica, a constraint), the transaction is
// rolled back and the batch is replayed with a savepoint per request: each request is
// read, decided and written on its own, and one request's failure is rolled back to
// its savepoint without touching any other request's effect or answer.

#include <span>
#include <string>
#include <vector>

#include "core/trace.hpp"
#include "payment_api/payment_rules.hpp"
#include "pg/pool.hpp"

namespace paypipe::payment_api {

class PaymentProcessor {
 public:
  // `currency` (PAYPIPE_CURRENCY): the currency of a wallet not created yet.
  PaymentProcessor(pg::Pool& pool, std::string source, std::string currency = "KRW");

  // One result per request: a Decision, or the error that prevented one (then nothing
  // of that request was written). `traces` continue each request's trace in its event.
  std::vector<core::Result<Decision>> process(std::span<const PaymentRequest> requests,
                                              std::span<const core::TraceContext> traces);

 private:
  pg::Pool& pool_;
  std::string source_;
  std::string currency_;
};

}  // namespace paypipe::payment_api
