#include "payment_api/payment_store.hpp"

#include <map>
#include <set>

#include "core/uuid.hpp"
#include "events/outbox.hpp"
#include "events/retry.hpp"
#include "payment_api/payment_events.hpp"
#include "pg/array.hpp"

namespace paypipe::payment_api {

namespace {

const std::string payment_columns =
    "id::text, order_id::text, user_id, amount, currency, status, failure_reason, request_fingerprint, " +
    pg::rfc3339_sql("created_at") + ", idempotency_key";

StoredPayment payment_from(const pg::Rows& rows, int row) {
  return StoredPayment{rows.str(row, 0), rows.str(row, 1), rows.str(row, 2),          rows.integer(row, 3),
                       rows.str(row, 4), rows.str(row, 5), rows.optional_str(row, 6), rows.str(row, 7),
                       rows.str(row, 8), rows.str(row, 9)};
}

}  // namespace

LedgerReads queue_reads(pg::Pipeline& pipeline, std::span<const PaymentRequest> requests) {
  const auto count = requests.size();
  pg::ArrayParam users(count, 16), keys(count, 36), orders(count, 36), wallet_users(count, 16);
  std::set<std::string_view> seen_users;
  for (const auto& r : requests) {
    users.add(r.user_id);
    keys.add(r.idempotency_key);
    orders.add(r.order_id);
    if (seen_users.insert(r.user_id).second) wallet_users.add(r.user_id);
  }
  // Orders are locked first: a request racing another with the same key waits here, and
  // its look-up of the key (a later statement, a later snapshot) then sees the winner's
  // payment and replays it instead of calling the order "already paid".
  static const std::string by_key = "SELECT " + payment_columns +
                                    " FROM payments WHERE (user_id, idempotency_key) IN "
                                    "(SELECT * FROM unnest($1::text[], $2::text[]))";
  LedgerReads reads;
  reads.orders = pipeline.add(
      "SELECT order_id::text, user_id, amount, currency, status, (extract(epoch FROM expires_at) * 1000)::bigint "
      "FROM payable_orders WHERE order_id = ANY($1::uuid[]) ORDER BY order_id FOR UPDATE",
      orders);
  reads.wallets = pipeline.add(
      "SELECT user_id, balance, currency FROM wallets WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE",
      wallet_users);
  reads.payments = pipeline.add(by_key, users, keys);
  return reads;
}

void fill_view(const pg::Pipeline& pipeline, const LedgerReads& reads, LedgerView& view) {
  const auto& payments = pipeline.rows(reads.payments);
  for (int i = 0; i < payments.size(); ++i) {
    view.payments_by_key[LedgerView::key_of(payments.str(i, 2), payments.str(i, 9))] = payment_from(payments, i);
  }
  const auto& orders = pipeline.rows(reads.orders);
  for (int i = 0; i < orders.size(); ++i) {
    view.orders[orders.str(i, 0)] = PayableOrder{orders.str(i, 0),     orders.str(i, 1),
                                                 orders.integer(i, 2), orders.str(i, 3),
                                                 orders.str(i, 4),     core::from_unix_ms(orders.integer(i, 5))};
  }
  const auto& wallets = pipeline.rows(reads.wallets);
  for (int i = 0; i < wallets.size(); ++i) {
    view.balances[wallets.str(i, 0)] = wallets.integer(i, 1);
    view.wallet_currencies[wallets.str(i, 0)] = wallets.str(i, 2);
  }
}

core::Status queue_writes(pg::Pipeline& pipeline, std::span<Decided> decided, const LedgerView& view) {
  const auto count = decided.size();
  pg::ArrayParam p_id(count, 36), p_order(count, 36), p_user(count, 16), p_amount(count, 8), p_currency(count, 3),
      p_status(count, 9), p_reason(count, 0), p_key(count, 36), p_print(count, 64), p_at(count, 24);
  pg::ArrayParam e_id(count, 36), e_user(count, 16), e_amount(count, 8), e_payment(count, 36), e_offset(count, 4);
  std::map<std::string_view, std::int64_t> deltas;  // per user: the sum of this batch's charges
  std::map<std::string_view, std::string_view> touched_orders;  // order id -> its status in `view`
  std::vector<events::Event> announcements;
  for (auto& d : decided) {
    const auto verdict = d.decision.verdict;
    if (verdict != Verdict::charge && verdict != Verdict::insufficient_funds) continue;
    const auto& p = *d.decision.previous;
    p_id.add(p.id);
    p_order.add(p.order_id);
    p_user.add(p.user_id);
    p_amount.add(p.amount);
    p_currency.add(p.currency);
    p_status.add(p.status);
    p_reason.add(p.failure_reason ? std::string_view(*p.failure_reason) : std::string_view());
    p_key.add(p.idempotency_key);
    p_print.add(p.fingerprint);
    p_at.add(p.created_at);
    touched_orders.emplace(p.order_id, view.orders.at(p.order_id).status);
    if (verdict == Verdict::charge) {
      e_id.add(core::new_uuid_v7());
      e_user.add(p.user_id);
      e_amount.add(-p.amount);
      e_payment.add(p.id);
      // The entry's balance_after, as an offset from the wallet's balance once the
      // batch is applied (0 for the user's last charge): the wallet may have changed
      // since it was read if it was not there to lock (see below).
      e_offset.add(d.decision.balance_after - view.balances.at(p.user_id));
      deltas[p.user_id] -= p.amount;
    }
    if (d.event) announcements.push_back(std::move(*d.event));
  }
  if (p_id.empty()) return {};
  // Validated before anything is queued: an invalid event leaves the pipeline as it was.
  std::optional<events::OutboxInsert> outbox;
  if (!announcements.empty()) {
    auto insert = events::OutboxInsert::prepare(std::move(announcements), "payment");
    if (!insert) return insert.error();
    outbox.emplace(std::move(insert).value());
  }
  pipeline.add(
      "INSERT INTO payments (id, order_id, user_id, amount, currency, status, failure_reason, idempotency_key, "
      "request_fingerprint, created_at) "
      "SELECT id, order_id, user_id, amount, currency, status, NULLIF(reason, ''), key, print, at "
      "FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], "
      "$8::text[], $9::text[], $10::timestamptz[]) "
      "AS p(id, order_id, user_id, amount, currency, status, reason, key, print, at)",
      p_id, p_order, p_user, p_amount, p_currency, p_status, p_reason, p_key, p_print, p_at);
  if (!e_id.empty()) {
    // A relative update, never `SET balance = <what we read>`: only the wallets that
    // existed were locked by the read; one created since (a first deposit committing
    // between our read and this write) would be overwritten with a balance computed
    // without it. Charges against a wallet that was not there are of 0 (any other
    // amount was refused as insufficient funds), so its delta is 0 and it stays whole.
    pg::ArrayParam w_user(deltas.size(), 16), w_delta(deltas.size(), 8);
    for (const auto& [user, delta] : deltas) {
      w_user.add(user);
      w_delta.add(delta);
    }
    pipeline.add(
        "UPDATE wallets w SET balance = w.balance + v.delta, updated_at = now() "
        "FROM unnest($1::text[], $2::bigint[]) AS v(user_id, delta) WHERE w.user_id = v.user_id",
        w_user, w_delta);
    pipeline.add(
        "INSERT INTO wallet_entries (id, user_id, kind, amount, payment_id, balance_after) "
        "SELECT e.id, e.user_id, 'PAYMENT', e.amount, e.payment_id, "
        "coalesce((SELECT balance FROM wallets w WHERE w.user_id = e.user_id), 0) + e.balance_offset "
        "FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[], $5::bigint[]) "
        "AS e(id, user_id, amount, payment_id, balance_offset)",
        e_id, e_user, e_amount, e_payment, e_offset);
  }
  pg::ArrayParam o_id(touched_orders.size(), 36), o_status(touched_orders.size(), 9);
  for (const auto& [order, status] : touched_orders) {
    o_id.add(order);
    o_status.add(status);
  }
  pipeline.add(
      "UPDATE payable_orders o SET status = v.status, updated_at = now() "
      "FROM unnest($1::uuid[], $2::text[]) AS v(order_id, status) WHERE o.order_id = v.order_id",
      o_id, o_status);
  if (outbox) std::move(*outbox).queue(pipeline);
  return {};
}

core::Result<Deposit> deposit(pg::Transaction& tx, const std::string& user_id, std::int64_t amount,
                              const std::string& idempotency_key, const std::string& currency) {
  static const std::string find =
      "SELECT id::text, amount, balance_after, " + pg::rfc3339_sql("created_at") +
      " FROM wallet_entries WHERE user_id = $1 AND idempotency_key = $2 AND kind = 'DEPOSIT'";
  auto existing = tx.exec(find, user_id, idempotency_key);
  if (!existing) return existing.error();
  if (!existing->empty()) {
    if (existing->integer(0, 1) != amount) {
      return core::make_error(core::ErrorCategory::unprocessable, "idempotency-key-reused",
                              "this Idempotency-Key was already used for a deposit of another amount");
    }
    return Deposit{existing->str(0, 0), user_id, amount, existing->integer(0, 2), existing->str(0, 3), true};
  }
  auto balance = tx.exec(
      "INSERT INTO wallets (user_id, balance, currency) VALUES ($1, $2, $3) "
      "ON CONFLICT (user_id) DO UPDATE SET balance = wallets.balance + EXCLUDED.balance, updated_at = now() "
      "WHERE wallets.currency = EXCLUDED.currency RETURNING balance",
      user_id, amount, currency);
  if (!balance) return balance.error();
  if (balance->empty()) {
    return core::make_error(core::ErrorCategory::unprocessable, "currency-mismatch",
                            "the wallet of " + user_id + " is not in " + currency + "; nothing was deposited");
  }
  Deposit result{core::new_uuid_v7(), user_id, amount, balance->integer(0, 0), {}, false};
  static const std::string insert =
      "INSERT INTO wallet_entries (id, user_id, kind, amount, idempotency_key, balance_after) "
      "VALUES ($1, $2, 'DEPOSIT', $3, $4, $5) RETURNING " +
      pg::rfc3339_sql("created_at");
  auto entry = tx.exec(insert, result.id, user_id, amount, idempotency_key, result.balance_after);
  if (!entry) return entry.error();
  result.created_at = entry->str(0, 0);
  return result;
}

core::Result<Deposit> record_deposit(pg::Pool& pool, const std::string& user_id, std::int64_t amount,
                                     const std::string& idempotency_key, const std::string& currency) {
  // Two concurrent deposits with one key: the loser hits the unique index, then replays.
  static const auto twice = events::RetryPolicy::constant(2, std::chrono::milliseconds(0));
  return events::retry(twice, events::never_stop(), [&]() -> events::Attempt<Deposit> {
    auto lease = pool.acquire();
    if (!lease) return events::Attempt<Deposit>::give_up(lease.error());
    auto tx = pg::Transaction::begin(**lease);
    if (!tx) return events::Attempt<Deposit>::give_up(tx.error());
    auto made = deposit(*tx, user_id, amount, idempotency_key, currency);
    if (!made) {
      return pg::is_unique_violation(made.error(), "wallet_entries_deposit_key")
                 ? events::Attempt<Deposit>::again(made.error())
                 : events::Attempt<Deposit>::give_up(made.error());
    }
    if (auto s = tx->commit(); !s) return events::Attempt<Deposit>::give_up(s.error());
    return std::move(made).value();
  });
}

core::Result<bool> refund(pg::Transaction& tx, const std::string& payment_id, std::string_view source) {
  auto refunded = tx.exec(
      "UPDATE payments SET status = 'REFUNDED', refunded_at = now() WHERE id = $1 AND status = 'COMPLETED' "
      "RETURNING user_id, amount, currency, order_id::text",
      payment_id);
  if (!refunded) return refunded.error();
  if (refunded->empty()) return false;
  StoredPayment payment;
  payment.id = payment_id;
  payment.user_id = refunded->str(0, 0);
  payment.amount = refunded->integer(0, 1);
  payment.currency = refunded->str(0, 2);
  payment.order_id = refunded->str(0, 3);
  auto balance = tx.exec(
      "INSERT INTO wallets (user_id, balance) VALUES ($1, $2) "
      "ON CONFLICT (user_id) DO UPDATE SET balance = wallets.balance + EXCLUDED.balance, updated_at = now() "
      "RETURNING balance",
      payment.user_id, payment.amount);
  if (!balance) return balance.error();
  auto entry = tx.exec(
      "INSERT INTO wallet_entries (id, user_id, kind, amount, payment_id, balance_after) "
      "VALUES ($1, $2, 'REFUND', $3, $4, $5)",
      core::new_uuid_v7(), payment.user_id, payment.amount, payment_id, balance->integer(0, 0));
  if (!entry) return entry.error();
  if (auto s = events::append_to_outbox(tx, refunded_event(payment, source, core::now_rfc3339()), "payment"); !s) {
    return s.error();
  }
  return true;
}

core::Result<std::optional<Wallet>> find_wallet(pg::Connection& connection, const std::string& user_id) {
  static const std::string sql = "SELECT user_id, balance, currency, " + pg::rfc3339_sql("updated_at") +
                                 " FROM wallets WHERE user_id = $1";
  auto rows = connection.exec(sql, user_id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Wallet>{};
  return std::optional<Wallet>{Wallet{rows->str(0, 0), rows->integer(0, 1), rows->str(0, 2), rows->str(0, 3)}};
}

core::Result<std::optional<StoredPayment>> find_payment(pg::Connection& connection, const std::string& payment_id) {
  static const std::string sql = "SELECT " + payment_columns + " FROM payments WHERE id = $1";
  auto rows = connection.exec(sql, payment_id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredPayment>{};
  return std::optional<StoredPayment>{payment_from(*rows, 0)};
}

}  // namespace paypipe::payment_api
