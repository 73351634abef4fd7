#pragma once
// Exactly-once effects on top of at-least-once delivery: the event id is recorded in
// processed_events inside the same transaction as the event's effect, so a redelivered
// event is recognised and skipped, whatever crashed where.

#include <functional>
#include <set>
#include <span>
#include <string>

#include "events/consumer_runtime.hpp"
#include "pg/pool.hpp"

namespace paypipe::events {

// Records `event_id` for `consumer` in `tx`. False if it was already recorded.
core::Result<bool> mark_processed(pg::Transaction& tx, std::string_view consumer, std::string_view event_id);

// Records many ids in one statement; returns those that were NOT recorded before.
core::Result<std::set<std::string>> mark_processed(pg::Transaction& tx, std::string_view consumer,
                                                   const std::vector<std::string>& event_ids);

// The effect of one event, inside the batch's transaction.
using ApplyFn = std::function<core::Status(pg::Transaction& tx, const ConsumedEvent& event)>;
// The effect of the batch's new events at once, in their order: set-based statements
// over arrays, the same effect as applying them one by one. The replay calls it with one
// event at a time.
using ApplyAllFn = std::function<core::Status(pg::Transaction& tx, std::span<const ConsumedEvent* const> events)>;

// Applies a batch in ONE transaction with every new event id recorded, and returns one
// Outcome per event (already-processed events are successes that change nothing).
//
// Fast path: all events without savepoints. If any event fails, the transaction is
// rolled back and the batch is replayed with a savepoint per event, so one event's
// failure never touches another's effect; the failure becomes that event's outcome
// (outcome_for: retryable or fatal). An infrastructure failure (outcome_for:
// infrastructure) of any event, or of the commit, is every event's outcome and
// nothing is committed: no event is applied before one that must be retried in place.
std::vector<Outcome> apply_exactly_once(pg::Pool& pool, std::string_view consumer,
                                        std::span<const ConsumedEvent> events, const ApplyAllFn& apply,
                                        std::string_view component);
// The same, one event at a time (statements per event).
std::vector<Outcome> apply_exactly_once(pg::Pool& pool, std::string_view consumer,
                                        std::span<const ConsumedEvent> events, const ApplyFn& apply,
                                        std::string_view component);

// For consumers that decode a batch first and write it with set-based statements
// (recording the event ids themselves): `apply(tx, first, count)` writes items
// [first, first + count) of the decoded batch. All `count` items go in ONE transaction;
// if that fails (unless the database is unavailable), `on_replay` is told and the items
// are replayed one by one with a savepoint each, so one item's failure stays with it
// (an infrastructure failure, as above, is every item's and commits nothing).
// One Outcome per item.
using ApplyRangeFn = std::function<core::Status(pg::Transaction& tx, std::size_t first, std::size_t count)>;
std::vector<Outcome> apply_batch_or_replay(pg::Pool& pool, std::size_t count, const ApplyRangeFn& apply,
                                           std::string_view component,
                                           const std::function<void(const core::Error&)>& on_replay);

// apply_exactly_once as a BatchHandler for ConsumerRuntime::batch.
BatchHandler exactly_once_handler(pg::Pool& pool, std::string consumer, ApplyAllFn apply, std::string component);
BatchHandler exactly_once_handler(pg::Pool& pool, std::string consumer, ApplyFn apply, std::string component);

}  // namespace paypipe::events
