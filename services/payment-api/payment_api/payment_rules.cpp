#include "payment_api/payment_rules.hpp"

namespace paypipe::payment_api {

Decision decide(const PaymentRequest& request, LedgerView& view, core::SystemTime now,
                const StoredPayment& new_payment) {
  Decision decision;
  const auto key = LedgerView::key_of(request.user_id, request.idempotency_key);
  if (const auto it = view.payments_by_key.find(key); it != view.payments_by_key.end()) {
    if (it->second.fingerprint != request.fingerprint()) {
      decision.verdict = Verdict::key_reused;
      decision.detail = "this Idempotency-Key was already used for a different payment request";
      return decision;
    }
    decision.verdict = Verdict::replay;
    decision.previous = it->second;
    return decision;
  }

  const auto order_it = view.orders.find(request.order_id);
  if (order_it == view.orders.end()) {
    decision.verdict = Verdict::order_not_found;
    decision.detail = "order " + request.order_id + " is not known to payment-api (yet)";
    return decision;
  }
  auto& order = order_it->second;
  if (order.user_id != request.user_id) {
    decision.verdict = Verdict::wrong_user;
    // Worded as an unknown order: another user's order is not shown to exist.
    decision.detail = "order " + request.order_id + " is not known to payment-api (yet)";
    return decision;
  }
  if (order.status != "PAYABLE") {
    decision.verdict = Verdict::not_payable;
    decision.detail = "order " + request.order_id + " is no longer payable (" + order.status + ")";
    return decision;
  }
  if (now >= order.expires_at) {
    decision.verdict = Verdict::not_payable;
    decision.detail = "order " + request.order_id + " expired at " + core::format_rfc3339(order.expires_at);
    return decision;
  }

  // Amounts are minor units of one currency: never subtract one currency from another.
  const auto wallet = view.wallet_currencies.find(request.user_id);
  const auto& wallet_currency = wallet != view.wallet_currencies.end() ? wallet->second : view.currency;
  if (order.currency != wallet_currency) {
    decision.verdict = Verdict::currency_mismatch;
    decision.detail = "order " + request.order_id + " is in " + order.currency + ", the wallet of " + request.user_id +
                      " in " + wallet_currency + "; nothing was charged";
    return decision;
  }

  decision.amount = order.amount;
  decision.currency = order.currency;
  auto& balance = view.balances[request.user_id];
  StoredPayment stored = new_payment;
  stored.order_id = request.order_id;
  stored.user_id = request.user_id;
  stored.amount = order.amount;
  stored.currency = order.currency;
  stored.fingerprint = request.fingerprint();
  stored.idempotency_key = request.idempotency_key;
  if (balance < order.amount) {
    decision.verdict = Verdict::insufficient_funds;
    decision.detail = "the wallet holds " + std::to_string(balance) + ", the order costs " +
                      std::to_string(order.amount);
    decision.balance_after = balance;
    stored.status = "FAILED";
    stored.failure_reason = "INSUFFICIENT_FUNDS";
    order.status = "PAYMENT_FAILED";
  } else {
    decision.verdict = Verdict::charge;
    balance -= order.amount;
    decision.balance_after = balance;
    stored.status = "COMPLETED";
    order.status = "PAID";
  }
  view.payments_by_key[key] = stored;
  decision.previous = stored;
  return decision;
}

}  // namespace paypipe::payment_api
