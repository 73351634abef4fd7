#pragma once
// The consumer of coupon.requested (group coupon-issuer, batch mode): decides a whole
// polled batch in ONE transaction.
//
// DELIVERY CONTRACT: at least once. A batch may be delivered again (a crash before the
// offsets were committed, a rebalance), so deciding is idempotent twice over: the
// event id (ce_id) is recorded in processed_events in the decision's transaction, and a
// request id that already has a decision is skipped. A redelivered coupon.requested
// therefore changes nothing.
//
// No lock beyond the database's own: coupon.requested is keyed by coupon id, so every
// request for one coupon is in one partition and reaches this consumer in arrival
// order. Per batch:
//   1. record the batch's event ids (processed_events), keep the fresh ones;
//   2. read the coupons (FOR UPDATE, in id order), which of the batch's users already
//      hold them, and which requests are already decided: three set-based statements;
//   3. decide every request in order with the pure decide() (coupon_rules.hpp);
//   4. write issued coupons, remaining stock, every request's outcome and the
//      coupon.issued / coupon.rejected events (outcome_event, coupon_events.hpp; the
//      outbox) with set-based statements, commit.
// If the batch fails for a reason other than an unavailable database, it is replayed
// with a savepoint per event, so one bad event never holds the others back.
//
// coupon.issued and coupon.rejected are keyed by USER id: their consumer
// (notification-sender) keeps each key's events in order and runs keys in parallel;
// keyed by coupon, the outcomes of one hot coupon would all queue in one partition and
// one lane and reach users one Telegram call at a time. A user's own outcomes stay in
// order, which is the order a user can observe.

#include <span>
#include <string>
#include <vector>

#include "events/consumer_runtime.hpp"
#include "pg/pool.hpp"

namespace paypipe::coupon_issuer {

class CouponDecider {
 public:
  // `source` is ce_source of the events it emits.
  CouponDecider(pg::Pool& pool, std::string source);

  // One Outcome per event; successes are durable (committed) when this returns.
  std::vector<events::Outcome> handle(std::span<const events::ConsumedEvent> events);

  // handle() as a BatchHandler for ConsumerRuntime::batch; the decider must outlive it.
  events::BatchHandler handler();

 private:
  pg::Pool& pool_;
  std::string source_;
};

}  // namespace paypipe::coupon_issuer
