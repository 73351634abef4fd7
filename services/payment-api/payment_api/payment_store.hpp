#pragma once
// payment-api's SQL. Everything here but record_deposit runs inside a transaction the
// caller opened; what to write and which events to announce is decided before
// (payment_rules.hpp, payment_events.hpp): the store only reads and writes.
//
// A batch of payments costs two round trips (a pg::Pipeline): one to read and lock
// what the requests need (their idempotency keys, orders and wallets, locked in id order
// so concurrent batches never deadlock), one to write every decision (set-based
// statements over arrays) and commit.

#include <span>
#include <vector>

#include "core/trace.hpp"
#include "events/envelope.hpp"
#include "payment_api/payment_rules.hpp"
#include "pg/pg.hpp"
#include "pg/pool.hpp"

namespace paypipe::payment_api {

// Queues the reads (and locks) of what `requests` need; once flushed, fill_view reads
// their answers into a LedgerView.
struct LedgerReads {
  pg::Pipeline::Handle orders, wallets, payments;
};
LedgerReads queue_reads(pg::Pipeline& pipeline, std::span<const PaymentRequest> requests);
void fill_view(const pg::Pipeline& pipeline, const LedgerReads& reads, LedgerView& view);

// One decided request and the event it announces (payment_event; none for refusals
// without effect).
struct Decided {
  Decision decision;
  std::optional<events::Event> event;
};

// Queues the writes of `decided` (payments, wallet entries and balances, order
// statuses, the outbox) given the final `view`; the events move to the outbox insert.
// An error (an invalid event) queues nothing.
core::Status queue_writes(pg::Pipeline& pipeline, std::span<Decided> decided, const LedgerView& view);

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
// POST /v1/wallets/{userId}/deposits: deposit() in a transaction of its own, committed.
// Two concurrent deposits with one key: the loser hits the unique index, and its second
// attempt finds the winner's entry and replays it.
core::Result<Deposit> record_deposit(pg::Pool& pool, const std::string& user_id, std::int64_t amount,
                                     const std::string& idempotency_key, const std::string& currency);

// payment.refund-requested: refunds a COMPLETED payment once: it becomes REFUNDED, the
// wallet is credited with a REFUND ledger entry, and payment.refunded (refunded_event,
// from `source`) goes to the outbox. A payment not found or not COMPLETED (refunded
// already) changes nothing: false.
core::Result<bool> refund(pg::Transaction& tx, const std::string& payment_id, std::string_view source);

struct Wallet {
  std::string user_id;
  std::int64_t balance = 0;
  std::string currency;
  std::string updated_at;
};
core::Result<std::optional<Wallet>> find_wallet(pg::Connection& connection, const std::string& user_id);
core::Result<std::optional<StoredPayment>> find_payment(pg::Connection& connection, const std::string& payment_id);

}  // namespace paypipe::payment_api
