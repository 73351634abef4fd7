#include "events/idempotency.hpp"

#include <spdlog/spdlog.h>

#include <cctype>

#include "core/log.hpp"

namespace paypipe::events {

core::Result<bool> mark_processed(pg::Transaction& tx, std::string_view consumer, std::string_view event_id) {
  auto rows = tx.exec("INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                      consumer, event_id);
  if (!rows) return rows.error();
  return rows->affected() == 1;
}

core::Result<std::set<std::string>> mark_processed(pg::Transaction& tx, std::string_view consumer,
                                                   const std::vector<std::string>& event_ids) {
  auto rows = tx.exec(
      "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::uuid[]) "
      "ON CONFLICT DO NOTHING RETURNING event_id::text",
      consumer, event_ids);
  if (!rows) return rows.error();
  std::set<std::string> fresh;
  for (int i = 0; i < rows->size(); ++i) fresh.insert(rows->str(i, 0));
  return fresh;
}

namespace {

std::vector<Outcome> all(std::size_t count, const Outcome& outcome) { return std::vector<Outcome>(count, outcome); }

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Without savepoints; nullopt if any event failed (the caller replays with savepoints).
std::optional<core::Status> fast_path(pg::Connection& connection, std::string_view consumer,
                                      std::span<const ConsumedEvent> events, const ApplyAllFn& apply) {
  auto tx = pg::Transaction::begin(connection);
  if (!tx) return tx.error();
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const auto& e : events) ids.push_back(lower(e.event.id));
  auto fresh = mark_processed(*tx, consumer, ids);
  if (!fresh) return std::nullopt;
  std::set<std::string> applied;
  std::vector<const ConsumedEvent*> todo;
  for (std::size_t i = 0; i < events.size(); ++i) {
    // Seen before, or earlier in this very batch: skip.
    if (fresh->count(ids[i]) && applied.insert(ids[i]).second) todo.push_back(&events[i]);
  }
  if (!todo.empty()) {
    if (auto status = apply(*tx, todo); !status) return std::nullopt;
  }
  return tx->commit();
}

// A per-event effect as a batch effect: one event after the other.
ApplyAllFn one_by_one(ApplyFn apply) {
  return [apply = std::move(apply)](pg::Transaction& tx, std::span<const ConsumedEvent* const> events) {
    for (const auto* event : events) {
      if (auto status = apply(tx, *event); !status) return status;
    }
    return core::Status{};
  };
}

}  // namespace

std::vector<Outcome> apply_exactly_once(pg::Pool& pool, std::string_view consumer,
                                        std::span<const ConsumedEvent> events, const ApplyFn& apply,
                                        std::string_view component) {
  return apply_exactly_once(pool, consumer, events, one_by_one(apply), component);
}

std::vector<Outcome> apply_exactly_once(pg::Pool& pool, std::string_view consumer,
                                        std::span<const ConsumedEvent> events, const ApplyAllFn& apply,
                                        std::string_view component) {
  auto lease = pool.acquire();
  if (!lease) return all(events.size(), outcome_for(lease.error(), component));
  if (auto fast = fast_path(**lease, consumer, events, apply)) {
    if (*fast) return all(events.size(), Outcome::ok());
    return all(events.size(), outcome_for(fast->error(), component));
  }

  // Replay, one savepoint per event.
  std::vector<Outcome> outcomes(events.size());
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return all(events.size(), outcome_for(tx.error(), component));
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (auto s = tx->savepoint("event"); !s) return all(events.size(), outcome_for(s.error(), component));
    auto fresh = mark_processed(*tx, consumer, lower(events[i].event.id));
    core::Status status = fresh ? core::Status{} : core::Status(fresh.error());
    const ConsumedEvent* one = &events[i];
    if (status && *fresh) status = apply(*tx, std::span<const ConsumedEvent* const>(&one, 1));
    if (status) {
      if (auto s = tx->release("event"); !s) return all(events.size(), outcome_for(s.error(), component));
    } else {
      outcomes[i] = outcome_for(status.error(), component);
      // The infrastructure failed, not the event: commit nothing, so no later event is
      // applied before it (the runtime retries the batch in place).
      if (outcomes[i].kind == Outcome::Kind::infrastructure) return all(events.size(), outcomes[i]);
      core::log::warn(
          {{core::log::key::event_id, events[i].event.id}, {core::log::key::event_type, events[i].event.type}},
          "{}: event failed: {}", consumer, status.error().message);
      if (auto s = tx->rollback_to("event"); !s) return all(events.size(), outcome_for(s.error(), component));
    }
  }
  if (auto s = tx->commit(); !s) return all(events.size(), outcome_for(s.error(), component));
  return outcomes;
}

std::vector<Outcome> apply_batch_or_replay(pg::Pool& pool, std::size_t count, const ApplyRangeFn& apply,
                                           std::string_view component,
                                           const std::function<void(const core::Error&)>& on_replay) {
  if (count == 0) return {};
  auto lease = pool.acquire();
  if (!lease) return all(count, outcome_for(lease.error(), component));
  core::Status fast = [&]() -> core::Status {
    auto tx = pg::Transaction::begin(**lease);
    if (!tx) return tx.error();
    if (auto s = apply(*tx, 0, count); !s) return s;
    return tx->commit();
  }();
  if (fast) return all(count, Outcome::ok());
  if (count == 1 || fast.error().category == core::ErrorCategory::unavailable) {
    return all(count, outcome_for(fast.error(), component));
  }

  if (on_replay) on_replay(fast.error());
  std::vector<Outcome> outcomes(count);
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return all(count, outcome_for(tx.error(), component));
  for (std::size_t i = 0; i < count; ++i) {
    if (auto s = tx->savepoint("event"); !s) return all(count, outcome_for(s.error(), component));
    if (auto s = apply(*tx, i, 1); !s) {
      outcomes[i] = outcome_for(s.error(), component);
      if (outcomes[i].kind == Outcome::Kind::infrastructure) return all(count, outcomes[i]);  // as above
      if (auto r = tx->rollback_to("event"); !r) return all(count, outcome_for(r.error(), component));
      continue;
    }
    if (auto s = tx->release("event"); !s) return all(count, outcome_for(s.error(), component));
  }
  if (auto s = tx->commit(); !s) return all(count, outcome_for(s.error(), component));
  return outcomes;
}

BatchHandler exactly_once_handler(pg::Pool& pool, std::string consumer, ApplyFn apply, std::string component) {
  return exactly_once_handler(pool, std::move(consumer), one_by_one(std::move(apply)), std::move(component));
}

BatchHandler exactly_once_handler(pg::Pool& pool, std::string consumer, ApplyAllFn apply, std::string component) {
  return [&pool, consumer = std::move(consumer), apply = std::move(apply),
          component = std::move(component)](std::span<const ConsumedEvent> events) {
    return apply_exactly_once(pool, consumer, events, apply, component);
  };
}

}  // namespace paypipe::events
