#pragma once
// What an operator does with dead letters before dlq-retrier handles them, shared by
// the HTTP API and the CLI (the seeds' callable processFailedMessages(), and more):
//
//   summaries   per group: how many wait in dlq.<group>, the oldest, the reasons
//   list        one group's waiting records, a page at a time (cursor <partition>:<offset>)
//   retry       one record now: to retry.<group> as the retrier would send it (same
//               key, value, headers, attempt + 1); the retrier then skips it
//   retry_all   every record of the group waiting when the call starts
//   skip        park one record with the operator's reason (SKIPPED); never retried
//
// "Waiting" = the records between dlq-retrier's committed offsets and the ends of the
// partitions, read without joining its group (events/partition_reader.hpp), less
// those an operator retried or skipped already. Everything is idempotent: a record
// retried twice is sent once (the second answer says alreadyRetried), a record skipped
// twice is parked once. waiting_store.hpp says how a retry-now and the retrier's own
// pass never both send a record. As with parked replays, a crash between Kafka's
// acknowledgement and the row's commit leaves no row: the retrier would send that
// record again when it is due (consumers' event-id deduplication absorbs it).
//
// Threading: any thread; operations run one at a time (one reader, one lock).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dlq_retrier/parked.hpp"
#include "dlq_retrier/retry_schedule.hpp"
#include "dlq_retrier/waiting.hpp"
#include "events/partition_reader.hpp"
#include "events/producer.hpp"
#include "pg/pool.hpp"

namespace paypipe::dlq_retrier {

class WaitingOperations {
 public:
  // `producer` sends retries (the plain idempotent producer); both must outlive this.
  // `retrier_group` is the retrier's consumer group (its committed offsets).
  WaitingOperations(pg::Pool& pool, events::Producer& producer, events::KafkaOptions options, RetrySchedule schedule,
                    std::string retrier_group);
  ~WaitingOperations();

  // Every group with a dlq.<group> topic, or only `group` (not_found if it has none).
  // At most `scan_limit` records are read per group (the summary says if that was all).
  core::Result<std::vector<GroupSummary>> summaries(const std::optional<std::string>& group,
                                                    std::size_t scan_limit = 10000);
  core::Result<WaitingPage> list(const std::string& group, std::size_t limit,
                                 const std::optional<WaitingCursor>& cursor);
  // not_found (no such record), conflict "dead-letter-parked" (parked already: replay it
  // instead) or "dead-letter-not-waiting" (the retrier handled it already).
  core::Result<RetriedRecord> retry(const std::string& group, std::int32_t partition, std::int64_t offset);
  // How many were sent.
  core::Result<std::int64_t> retry_all(const std::string& group);
  // not_found; conflict "dead-letter-retried" or "dead-letter-not-waiting". A record
  // parked already returns its row as it is.
  core::Result<ParkedRecord> skip(const std::string& group, std::int32_t partition, std::int64_t offset,
                                  const std::string& reason);

 private:
  struct Collected {
    std::vector<events::ConsumedRecord> records;
    std::optional<WaitingCursor> next;
  };
  core::Result<events::PartitionReader*> reader();
  std::string topic_of(const std::string& group) const;
  core::Result<std::vector<events::PartitionWindow>> windows_of(const std::string& group);
  core::Result<events::PartitionWindow> window_of(const std::string& group, std::int32_t partition);
  // Up to `limit` waiting records of `windows` from `cursor` on, less handled ones.
  core::Result<Collected> collect(const std::vector<events::PartitionWindow>& windows,
                                  const std::optional<WaitingCursor>& cursor, std::size_t limit);
  // The record at `offset` if it still waits (the checks of retry and skip).
  core::Result<events::ConsumedRecord> waiting_record(const std::string& group, std::int32_t partition,
                                                      std::int64_t offset);

  pg::Pool& pool_;
  events::Producer& producer_;
  events::KafkaOptions options_;
  RetrySchedule schedule_;
  std::string retrier_group_;
  std::mutex mutex_;
  std::unique_ptr<events::PartitionReader> reader_;
};

}  // namespace paypipe::dlq_retrier
