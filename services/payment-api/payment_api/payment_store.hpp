#pragma once
// payment-api's SQL. Everything here runs inside a transaction the caller opened.
//
// A batch of payments costs two round trips (libpq pipeline mode): one to read and lock
// what the requests need (their idempotency keys, orders and wallets, locked in id order
// so concurrent batches never deadlock), one to write every decision (set-based
// statements over arrays) and commit.

#include <span>
#include <vector>

#include "core/trace.hpp"
#include "events/envelope.hpp"
#include "pg/pg.hpp"
#include "payment_api/payment_rules.hpp"

namespace paypipe::payment_api {

// The statements that read (and lock) what `requests` need.
std::vector<pg::Connection::Statement> read_statements(std::span<const PaymentRequest> requests);
// Fills a LedgerView from the results of read_statements (in the same order).
core::Status fill_view(std::span<const core::Result<pg::Rows>> results, LedgerView& view);

// One decided request and the event it announces (none for refusals without effect).
struct Decided {
  Decision decision;
  std::optional<events::Event> event;
};

// The statements that write the effects of `decided` (payments, wallet entries and
// balances, order statuses, the outbox) given the final `view`.
core::Result<std::vector<pg::Connection::Statement>> write_statements(std::span<const Decided> decided,
                                                                      const LedgerView& view);

// Deposits: credits the wallet once per (user, idempotency key).
struct Deposit {
  std::string id;
  std::string user_id;
  std::int64_t amount = 0;
  std::int64_t balance_after = 0;
  std::string created_at;
  bool replayed = false;
};
// Credits `amount` (minor units of `currency`, PAYPIPE_CURRENCY) to the user's wallet,
// creating it in that currency; a wallet held in another currency is refused
// (unprocessable, "currency-mismatch") and nothing is written.
core::Result<Deposit> deposit(pg::Transaction& tx, const std::string& user_id, std::int64_t amount,
                              const std::string& idempotency_key, const std::string& currency = "KRW");

struct Wallet {
  std::string user_id;
  std::int64_t balance = 0;
  std::string currency;
  std::string updated_at;
};
core::Result<std::optional<Wallet>> find_wallet(pg::Connection& connection, const std::string& user_id);
core::Result<std::optional<StoredPayment>> find_payment(pg::Connection& connection, const std::string& payment_id);

}  // namespace paypipe::payment_api
