#pragma once
// The retrier: reads every dlq.<group> (a pattern subscription, so a new group's topic is
// picked up at the next metadata refresh), and for each dead letter does what decide()
// says: republish it to retry.<group>, park it, or wait.
//
// Waiting never blocks other partitions and holds no record in memory: when a
// partition's next record is not due, the partition is paused and the consumer seeks
// back to that record; it is resumed when the record is due and read again then. The
// records behind it in its partition wait too (they failed later, and keeping a
// partition in order keeps a key's records in order).
//
// OPERATORS FIRST: a record an operator retried now or skipped (waiting_operations.hpp)
// before the retrier reached it is neither republished nor parked by the retrier: each
// batch is checked against the store under a shared advisory lock held until its Kafka
// transaction commits (waiting_store.hpp says why that makes one re-delivery).
//
// DELIVERY CONTRACT: every dead letter is republished or parked exactly once in effect.
// Records are handled in batches; a batch's parks are inserted into PostgreSQL first
// (idempotent: unique on the dead letter's topic, partition and offset), then its
// republished records and the consumer offsets after the whole batch are committed in
// ONE Kafka transaction. Killed anywhere in between, the batch is read again from the
// last committed offsets: its parks are found already parked, and its republished
// records, if they reached the log, belong to a transaction that the next instance
// (same transactional.id) aborts, so read_committed consumers of retry.<group> (all of
// ours) never see them. Offsets are committed only through these transactions (the
// consumer stores none), so no other commit can move them.
//
// A batch that fails (PostgreSQL or Kafka unavailable, transaction aborted) is rolled
// back and its partitions wait a backoff, then read it again. A fatal producer error
// (fenced by another instance with the same transactional.id) stops the loop and calls
// on_fatal: the daemon exits and Kubernetes restarts it.
//
// Threading: one thread of its own runs the loop; start/stop/running from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <variant>
#include <vector>

#include "dlq_retrier/decision.hpp"
#include "dlq_retrier/retry_schedule.hpp"
#include "events/consumer.hpp"
#include "events/transactional_producer.hpp"
#include "pg/pool.hpp"

namespace paypipe::dlq_retrier {

struct RetrierSettings {
  RetrySchedule schedule;
  events::ConsumerSettings consumer;       // the group and the dlq.* pattern
  events::TransactionalSettings transactional;
  std::size_t batch_size = 500;            // dead letters per Kafka transaction at most
  std::chrono::milliseconds init_timeout{60000};
  // The wait before a rolled-back batch is read again, by failures in a row: 200 ms x2 capped at 10 s.
  events::RetryPolicy rollback_backoff{0, std::chrono::milliseconds(200), 2.0, std::chrono::milliseconds(10000)};
  // Called on the retrier's thread after a fatal Kafka error; the loop has stopped.
  std::function<void(const core::Error&)> on_fatal;
};

class Retrier : public events::RebalanceListener {
 public:
  static core::Result<std::unique_ptr<Retrier>> create(const events::KafkaOptions& options, RetrierSettings settings,
                                                       pg::Pool& pool);
  ~Retrier() override;  // stop()
  Retrier(const Retrier&) = delete;
  Retrier& operator=(const Retrier&) = delete;

  // Initialises transactions (fencing a predecessor with the same transactional.id and
  // aborting what it left open), subscribes, starts the thread.
  core::Status start();
  // Stops polling, finishes the batch in hand (its transaction commits within
  // `timeout`), leaves the group. Waiting records are read again by the next owner.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  bool running() const { return alive_.load(); }

  void on_assigned(const std::vector<events::TopicPartition>& partitions) override;
  void on_revoking(const std::vector<events::TopicPartition>& partitions, bool lost) override;

 private:
  Retrier(events::KafkaOptions options, RetrierSettings settings, pg::Pool& pool);

  struct Entry {
    events::TopicPartition source;
    std::int64_t offset = 0;
    std::variant<Republish, Park> action;
  };
  struct Batch {
    std::vector<Entry> entries;
    std::map<events::TopicPartition, std::int64_t> first;  // first offset per partition
    std::map<events::TopicPartition, std::int64_t> next;   // offset after the last, to commit
    bool empty() const { return entries.empty(); }
    void clear() { entries.clear(), first.clear(), next.clear(); }
  };
  struct Waiting {
    std::int64_t offset = 0;    // the record to read again
    core::SystemTime until;     // when
    bool seeked = false;        // the consumer was moved back to `offset`
  };

  void run();
  void resume_ready();
  bool fill_batch();
  void handle(events::ConsumedRecord record);
  void wait_at(const events::TopicPartition& tp, std::int64_t offset, core::SystemTime until);
  void flush(std::chrono::milliseconds timeout);
  // Drops the batch's records that an operator retried now or parked already
  // (waiting_store.hpp), or with `republishes_only` only those to republish; returns how many.
  core::Result<std::size_t> drop_handled(pg::Transaction& tx, bool republishes_only);
  core::Status commit_transaction(std::chrono::milliseconds timeout);
  void roll_back(const core::Error& error);
  std::chrono::milliseconds next_wait() const;
  void report();

  events::KafkaOptions options_;
  RetrierSettings settings_;
  pg::Pool& pool_;
  std::unique_ptr<events::TransactionalProducer> producer_;
  std::unique_ptr<events::KafkaConsumer> consumer_;

  // Loop-thread state.
  Batch batch_;
  std::set<events::TopicPartition> assigned_;
  std::set<events::TopicPartition> to_resume_;  // newly assigned: make sure they are not paused
  std::map<events::TopicPartition, Waiting> waiting_;
  int failures_in_a_row_ = 0;
  std::chrono::steady_clock::time_point next_report_{};
  std::set<std::string> reported_groups_;

  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> alive_{false};
  std::chrono::milliseconds stop_timeout_{10000};
  bool started_ = false;
};

}  // namespace paypipe::dlq_retrier
