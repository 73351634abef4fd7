#include "dlq_retrier/parked_operations.hpp"

#include <spdlog/spdlog.h>

#include "dlq_retrier/decision.hpp"
#include "dlq_retrier/metrics.hpp"
#include "dlq_retrier/parked_store.hpp"
#include "dlq_retrier/send_all.hpp"

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
    std::vector<events::OutgoingRecord> records;
    for (const auto& row : *rows) records.push_back(replay_record(row, options_));
    auto sent = send_all(producer_, std::move(records), ack_timeout);
    if (!sent) {
      return core::make_error(core::ErrorCategory::unavailable, "kafka-ack-timeout",
                              "Kafka did not acknowledge the replayed records in time; the rows stay PARKED");
    }
    std::vector<std::int64_t> ok;
    for (const auto i : sent->acknowledged) ok.push_back((*rows)[i].id);
    if (auto s = mark_replayed(*tx, ok); !s) return s.error();
    if (auto s = tx->commit(); !s) return s.error();
    replayed += static_cast<std::int64_t>(ok.size());
    Metrics::get().replayed.Add({{"group", group}}).Increment(static_cast<double>(ok.size()));
    if (sent->failure) return *sent->failure;
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
