#include "dlq_retrier/parked_operations.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <mutex>

#include "dlq_retrier/decision.hpp"
#include "dlq_retrier/metrics.hpp"
#include "dlq_retrier/parked_store.hpp"

namespace paypipe::dlq_retrier {

namespace {

constexpr auto ack_timeout = std::chrono::seconds(30);
constexpr std::size_t replay_chunk = 100;

core::Error not_found(std::int64_t id) {
  return core::make_error(core::ErrorCategory::not_found, "parked-not-found", "no parked record " + std::to_string(id));
}

}  // namespace

ParkedOperations::ParkedOperations(pg::Pool& pool, events::Producer& producer, events::KafkaOptions options)
    : pool_(pool), producer_(producer), options_(std::move(options)) {}

core::Result<ParkedPage> ParkedOperations::list(const ParkedQuery& query) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  return list_parked(**lease, query, options_.topic_prefix);
}

core::Result<ParkedRecord> ParkedOperations::get(std::int64_t id) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto found = find_parked(**lease, id);
  if (!found) return found.error();
  if (!*found) return not_found(id);
  return std::move(**found);
}

core::Result<ParkedRecord> ParkedOperations::replay(std::int64_t id) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto found = find_parked(tx->connection(), id, true);
  if (!found) return found.error();
  if (!*found) return not_found(id);
  auto record = std::move(**found);
  if (record.status != status::parked) {
    return core::make_error(core::ErrorCategory::conflict, "not-parked",
                            "parked record " + std::to_string(id) + " is " + record.status + ", not PARKED");
  }
  if (auto sent = producer_.send_and_wait(replay_record(record, options_), ack_timeout); !sent) return sent.error();
  if (auto s = mark_replayed(*tx, {id}); !s) return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  Metrics::get().replayed.Add({{"group", record.group}}).Increment();
  spdlog::info("replayed parked record {} to retry.{}", id, record.group);
  auto updated = find_parked(**lease, id);
  if (!updated) return updated.error();
  if (!*updated) return not_found(id);
  return std::move(**updated);
}

core::Result<std::int64_t> ParkedOperations::replay_group(const std::string& group) {
  std::int64_t max_id = 0;
  {
    auto lease = pool_.acquire();
    if (!lease) return lease.error();
    auto newest = newest_parked_id(**lease, group);
    if (!newest) return newest.error();
    max_id = *newest;
  }
  std::int64_t replayed = 0;
  while (max_id > 0) {
    auto lease = pool_.acquire();
    if (!lease) return lease.error();
    auto tx = pg::Transaction::begin(**lease);
    if (!tx) return tx.error();
    auto rows = lock_parked_of_group(*tx, group, max_id, replay_chunk);
    if (!rows) return rows.error();
    if (rows->empty()) break;
    // Send the chunk, then wait for every acknowledgement; only acknowledged rows are marked.
    struct Acks {
      std::mutex mutex;
      std::vector<std::int64_t> ok;
      std::optional<core::Error> failure;
      std::atomic<std::size_t> pending{0};
      std::promise<void> done;
    };
    auto acks = std::make_shared<Acks>();
    acks->pending = rows->size() + 1;  // +1: released after the loop, so `done` fires once
    auto arrived = [acks] {
      if (--acks->pending == 0) acks->done.set_value();
    };
    for (const auto& row : *rows) {
      const auto id = row.id;
      auto status = producer_.send(replay_record(row, options_), [acks, id, arrived](const events::Delivery& d) {
        {
          std::lock_guard lock(acks->mutex);
          if (d.status) acks->ok.push_back(id);
          else acks->failure = d.status.error();
        }
        arrived();
      });
      if (!status) {
        {
          std::lock_guard lock(acks->mutex);
          acks->failure = status.error();
        }
        arrived();
      }
    }
    arrived();
    if (acks->done.get_future().wait_for(ack_timeout) != std::future_status::ready) {
      return core::make_error(core::ErrorCategory::unavailable, "kafka-ack-timeout",
                              "Kafka did not acknowledge the replayed records in time; the rows stay PARKED");
    }
    std::lock_guard lock(acks->mutex);
    if (auto s = mark_replayed(*tx, acks->ok); !s) return s.error();
    if (auto s = tx->commit(); !s) return s.error();
    replayed += static_cast<std::int64_t>(acks->ok.size());
    Metrics::get().replayed.Add({{"group", group}}).Increment(static_cast<double>(acks->ok.size()));
    if (acks->failure) return *acks->failure;
  }
  spdlog::info("replayed {} parked record(s) of group {} to retry.{}", replayed, group, group);
  return replayed;
}

core::Result<ParkedRecord> ParkedOperations::purge(std::int64_t id) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto purged = purge_parked(**lease, id);
  if (!purged) return purged.error();
  if (!*purged) return not_found(id);
  spdlog::info("purged parked record {}", id);
  return std::move(**purged);
}

}  // namespace paypipe::dlq_retrier
