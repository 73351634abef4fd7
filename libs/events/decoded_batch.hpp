#pragma once
// A BatchHandler for consumers that decode a whole batch first and then write it with
// set-based statements (coupon-issuer, ranking-updater):
//
//   decode every event into an Item  -> an event that does not decode gets its own
//                                       outcome (outcome_for: fatal, dead letter)
//   apply the decoded Items          -> apply_batch_or_replay: ONE transaction, replayed
//                                       with a savepoint per item if it fails
//   scatter                          -> one Outcome per event, in the batch's order
//
// `apply(tx, items)` records the items' event ids itself (mark_processed) and writes
// them; it is called with the whole decoded batch, or with one item during a replay.

#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "events/consumer_runtime.hpp"
#include "events/idempotency.hpp"
#include "events/outcome.hpp"
#include "pg/pool.hpp"

namespace paypipe::events {

template <typename Item>
using DecodeFn = std::function<core::Result<Item>(const ConsumedEvent& event)>;

// The pure part: decodes `events`, hands the decoded items (in order) to `apply_all`,
// which returns one Outcome per item, and returns one Outcome per event.
template <typename Item>
std::vector<Outcome> decode_then_apply(std::span<const ConsumedEvent> events, const DecodeFn<Item>& decode,
                                       std::string_view component,
                                       const std::function<std::vector<Outcome>(std::span<const Item>)>& apply_all) {
  std::vector<Outcome> outcomes(events.size());
  std::vector<Item> items;
  std::vector<std::size_t> positions;  // items[i] is events[positions[i]]
  items.reserve(events.size());
  positions.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto item = decode(events[i]);
    if (!item) {
      outcomes[i] = outcome_for(item.error(), component);
      continue;
    }
    items.push_back(std::move(item).value());
    positions.push_back(i);
  }
  if (items.empty()) return outcomes;
  const auto applied = apply_all(std::span<const Item>(items));
  for (std::size_t i = 0; i < applied.size() && i < positions.size(); ++i) outcomes[positions[i]] = applied[i];
  return outcomes;
}

template <typename Item>
struct DecodedBatch {
  DecodeFn<Item> decode;
  // The items' effect inside `tx` (see the header comment).
  std::function<core::Status(pg::Transaction& tx, std::span<const Item> items)> apply;
  // Told when the one-transaction attempt failed and `items` are replayed one by one.
  std::function<void(const core::Error& error, std::size_t items)> on_replay;
  std::string component;  // "paypipe.<component>.<Code>" error classes
};

// decode_then_apply with apply_batch_or_replay on `pool`.
template <typename Item>
std::vector<Outcome> apply_decoded_batch(pg::Pool& pool, std::span<const ConsumedEvent> events,
                                         const DecodedBatch<Item>& batch) {
  return decode_then_apply<Item>(events, batch.decode, batch.component, [&](std::span<const Item> items) {
    return apply_batch_or_replay(
        pool, items.size(),
        [&](pg::Transaction& tx, std::size_t first, std::size_t count) {
          return batch.apply(tx, items.subspan(first, count));
        },
        batch.component,
        [&](const core::Error& error) {
          if (batch.on_replay) batch.on_replay(error, items.size());
        });
  });
}

// apply_decoded_batch as a BatchHandler for ConsumerRuntime::batch; `pool` must outlive it.
template <typename Item>
BatchHandler decoded_batch_handler(pg::Pool& pool, DecodedBatch<Item> batch) {
  return [&pool, batch = std::move(batch)](std::span<const ConsumedEvent> events) {
    return apply_decoded_batch(pool, events, batch);
  };
}

}  // namespace paypipe::events
