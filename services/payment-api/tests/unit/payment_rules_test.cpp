#include "payment_api/payment_rules.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::payment_api;
using namespace std::chrono_literals;

namespace {

const auto now = core::from_unix_ms(1'800'000'000'000);
const std::string order_a = "0190a6b2-7c3e-7abc-8def-00000000000a";
const std::string order_b = "0190a6b2-7c3e-7abc-8def-00000000000b";

LedgerView ledger(std::int64_t balance) {
  LedgerView view;
  view.orders[order_a] = PayableOrder{order_a, "alice", 3000, "KRW", "PAYABLE", now + 10min};
  view.orders[order_b] = PayableOrder{order_b, "alice", 5000, "KRW", "PAYABLE", now + 10min};
  view.balances["alice"] = balance;
  return view;
}

StoredPayment fresh(const std::string& id) {
  StoredPayment p;
  p.id = id;
  p.created_at = "2027-01-15T08:00:00.000Z";
  return p;
}

}  // namespace

TEST_CASE("a payable order is charged its total and becomes paid") {
  auto view = ledger(10000);
  const auto d = decide({order_a, "alice", "k1"}, view, now, fresh("p1"));
  CHECK(d.verdict == Verdict::charge);
  CHECK(d.amount == 3000);
  CHECK(d.balance_after == 7000);
  CHECK(view.balances["alice"] == 7000);
  CHECK(view.orders[order_a].status == "PAID");
  REQUIRE(d.previous);
  CHECK(d.previous->status == "COMPLETED");
  CHECK(d.previous->idempotency_key == "k1");
}

TEST_CASE("insufficient funds fail the payment, move no money and doom the order") {
  auto view = ledger(2999);
  const auto d = decide({order_a, "alice", "k1"}, view, now, fresh("p1"));
  CHECK(d.verdict == Verdict::insufficient_funds);
  CHECK(view.balances["alice"] == 2999);
  CHECK(view.orders[order_a].status == "PAYMENT_FAILED");
  CHECK(d.previous->status == "FAILED");
  CHECK(d.previous->failure_reason == "INSUFFICIENT_FUNDS");
  // Paying it again, even after a deposit, is refused: the order is being cancelled.
  view.balances["alice"] = 100000;
  CHECK(decide({order_a, "alice", "k2"}, view, now, fresh("p2")).verdict == Verdict::not_payable);
}

TEST_CASE("the same key for the same request replays; for another request it is refused") {
  auto view = ledger(10000);
  REQUIRE(decide({order_a, "alice", "k1"}, view, now, fresh("p1")).verdict == Verdict::charge);
  const auto again = decide({order_a, "alice", "k1"}, view, now, fresh("p2"));
  CHECK(again.verdict == Verdict::replay);
  CHECK(again.previous->id == "p1");
  CHECK(view.balances["alice"] == 7000);  // charged once
  CHECK(decide({order_b, "alice", "k1"}, view, now, fresh("p3")).verdict == Verdict::key_reused);
}

TEST_CASE("two requests for one order in one batch charge once") {
  auto view = ledger(10000);
  CHECK(decide({order_a, "alice", "k1"}, view, now, fresh("p1")).verdict == Verdict::charge);
  CHECK(decide({order_a, "alice", "k2"}, view, now, fresh("p2")).verdict == Verdict::not_payable);
  CHECK(view.balances["alice"] == 7000);
}

TEST_CASE("requests of one batch share the wallet in order") {
  auto view = ledger(6000);
  CHECK(decide({order_a, "alice", "k1"}, view, now, fresh("p1")).verdict == Verdict::charge);
  CHECK(decide({order_b, "alice", "k2"}, view, now, fresh("p2")).verdict == Verdict::insufficient_funds);
  CHECK(view.balances["alice"] == 3000);
}

TEST_CASE("unknown, foreign, cancelled and expired orders are refused without effect") {
  auto view = ledger(10000);
  CHECK(decide({"0190a6b2-7c3e-7abc-8def-0000000000ff", "alice", "k"}, view, now, fresh("p")).verdict ==
        Verdict::order_not_found);
  CHECK(decide({order_a, "mallory", "k"}, view, now, fresh("p")).verdict == Verdict::wrong_user);
  view.orders[order_a].status = "CANCELLED";
  CHECK(decide({order_a, "alice", "k"}, view, now, fresh("p")).verdict == Verdict::not_payable);
  const auto expired = decide({order_b, "alice", "k3"}, view, now + 11min, fresh("p"));
  CHECK(expired.verdict == Verdict::not_payable);
  CHECK(expired.detail.find("expired") != std::string::npos);
  CHECK(view.balances["alice"] == 10000);
  CHECK(view.payments_by_key.empty());
}

TEST_CASE("a user without a wallet has nothing to pay with") {
  auto view = ledger(0);
  view.balances.clear();
  CHECK(decide({order_a, "alice", "k"}, view, now, fresh("p")).verdict == Verdict::insufficient_funds);
}

TEST_CASE("a wallet in one currency is never debited for an order in another") {
  // The wallet's own currency (from its row) against the order's.
  auto view = ledger(10000);
  view.wallet_currencies["alice"] = "USD";
  const auto d = decide({order_a, "alice", "k1"}, view, now, fresh("p1"));
  CHECK(d.verdict == Verdict::currency_mismatch);
  CHECK(d.detail.find("KRW") != std::string::npos);
  CHECK(d.detail.find("USD") != std::string::npos);
  CHECK(view.balances["alice"] == 10000);               // no money moved
  CHECK(view.orders[order_a].status == "PAYABLE");      // the order is not doomed
  CHECK(view.payments_by_key.empty());                  // nothing to replay: nothing was stored
  CHECK_FALSE(d.previous.has_value());

  // An order in another currency than the service's, for a user without a wallet row:
  // the wallet would be in the configured currency.
  auto usd = ledger(0);
  usd.balances.erase("alice");
  usd.currency = "KRW";
  usd.orders[order_b].currency = "USD";
  CHECK(decide({order_b, "alice", "k2"}, usd, now, fresh("p2")).verdict == Verdict::currency_mismatch);

  // Same currency on both sides: charged as ever.
  auto same = ledger(10000);
  same.wallet_currencies["alice"] = "KRW";
  CHECK(decide({order_a, "alice", "k3"}, same, now, fresh("p3")).verdict == Verdict::charge);
}
