#pragma once
// The consumer of order.completed, order.refunded and product.sold-out (group
// ranking-updater, batch mode): a whole polled batch in ONE transaction.
//
// DELIVERY CONTRACT: at least once. A batch may be delivered again (a crash before the
// offsets were committed, a rebalance); each event id (ce_id) is recorded in
// processed_events in the same transaction as the counters it moved, so a redelivered
// or duplicated event is counted once, also when both copies sit in one batch.
//
// An order is counted once whatever its event ids: its ranked_orders row is taken
// before its completion or refund counts (ranking_rules.hpp: tally_orders), so a refund
// subtracts once, and a completion read after its refund never counts.
//
// Per batch: record the event ids and keep the fresh ones; look up the local day of
// every fresh order's completion (one statement); take the orders' ranked_orders rows;
// tally and add the batch up in C++ (ranking_rules.hpp: tally_orders, aggregate,
// merge_sold_out); write each counter row once with set-based statements; commit. If
// the batch fails for a reason other than an unavailable database, it is replayed with
// a savepoint per event, so one bad event never holds the others back.

#include <span>
#include <string>
#include <vector>

#include "events/consumer_runtime.hpp"
#include "pg/pool.hpp"

namespace paypipe::ranking_updater {

class RankingConsumer {
 public:
  // `time_zone` buckets the daily counters (checked with check_time_zone first).
  RankingConsumer(pg::Pool& pool, std::string time_zone);

  // One Outcome per event; successes are committed when this returns.
  std::vector<events::Outcome> handle(std::span<const events::ConsumedEvent> events);
  // handle() as a BatchHandler for ConsumerRuntime::batch; the consumer must outlive it.
  events::BatchHandler handler();

 private:
  pg::Pool& pool_;
  std::string time_zone_;
};

}  // namespace paypipe::ranking_updater
