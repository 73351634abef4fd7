#pragma once
// A Kafka group consumer with manual offset storage: enable.auto.offset.store=false,
// so an offset is stored only when the caller says the work before it is durable;
// librdkafka's auto-commit then commits only stored offsets, and we commit
// synchronously on partition revoke and on close. Lost partitions (another member
// may own them already) are never committed. Rebalances are incremental by default
// (cooperative-sticky): the listener hears only of the partitions that move.
//
// Threading: one thread owns a KafkaConsumer and calls every method except wake(),
// which any thread may call to interrupt wait(). The RebalanceListener runs on that
// thread, inside poll().

#include <prometheus/histogram.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

struct ConsumerSettings {
  std::string group;                // logical group name; the group id is KafkaOptions::group(group)
  std::vector<std::string> topics;  // logical names; an entry starting with '^' is a regex on actual names
  std::chrono::milliseconds session_timeout{10000};
  std::chrono::milliseconds max_poll_interval{300000};
  std::chrono::milliseconds auto_commit_interval{1000};
  // Off for a consumer whose offsets commit inside Kafka transactions
  // (TransactionalProducer::send_offsets): the consumer's own commits (periodic, on
  // revoke, on close) could move the group's offsets back behind a transaction's.
  bool auto_commit = true;
  std::string auto_offset_reset = "earliest";
  // Prefetch bound per partition: keeps memory small and a paused partition cheap.
  std::size_t queued_max_kbytes = 4096;
  std::size_t queued_min_messages = 1000;
  // partition.assignment.strategy. cooperative-sticky rebalances incrementally: a member
  // joining or leaving revokes only the partitions that move, the others keep running.
  // Every member of a group must use the same kind (cooperative or eager): a group
  // still running members with "range,roundrobin" cannot take a cooperative member.
  std::string assignment_strategy = "cooperative-sticky";
};

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // `partitions` are added to the assignment (all of it with an eager protocol, only
  // the new ones with a cooperative one).
  virtual void on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  // Before `partitions` are taken away. When `lost` is false, the listener should
  // finish or abandon their work and store offsets; the consumer commits right after.
  // When `lost` is true another member may own them already: store nothing.
  virtual void on_revoking(const std::vector<TopicPartition>& partitions, bool lost) = 0;
};

struct GroupMetadataDeleter {
  void operator()(rd_kafka_consumer_group_metadata_t* metadata) const {
    rd_kafka_consumer_group_metadata_destroy(metadata);
  }
};
using GroupMetadataPtr = std::unique_ptr<rd_kafka_consumer_group_metadata_t, GroupMetadataDeleter>;

class KafkaConsumer {
 public:
  static core::Result<std::unique_ptr<KafkaConsumer>> create(const KafkaOptions& options,
                                                             const ConsumerSettings& settings,
                                                             RebalanceListener* listener);
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  core::Status subscribe();

  // The next record, or nullopt when none arrives within `timeout`. Transient consumer
  // errors (broker down, unknown topic) are logged, not returned.
  std::optional<ConsumedRecord> poll(std::chrono::milliseconds timeout);

  // Blocks until records may be ready, wake() is called, or `timeout` passes.
  void wait(std::chrono::milliseconds timeout);
  void wake();

  // `next_offset` = the offset of the first record NOT yet done.
  core::Status store_offset(const TopicPartition& partition, std::int64_t next_offset);
  // Commits the stored offsets now (synchronously).
  core::Status commit();

  void pause(const std::vector<TopicPartition>& partitions);
  void resume(const std::vector<TopicPartition>& partitions);
  // Makes the next fetch of `partition` start at `offset` (the partition must be assigned).
  core::Status seek(const TopicPartition& partition, std::int64_t offset);

  std::vector<TopicPartition> assignment() const;
  // The group's current metadata (group id, generation, member id), for
  // TransactionalProducer::send_offsets; a snapshot, owned by the caller.
  GroupMetadataPtr group_metadata() const;
  // High watermark minus the consumer's position, from cached watermarks (no broker call).
  std::optional<std::int64_t> lag(const TopicPartition& partition) const;

  // Leaves the group after a final revoke (and commit). Idempotent.
  void close();

  const std::string& group_id() const { return group_id_; }
  bool auto_commits() const { return auto_commit_; }
  // The full topic names and patterns subscribed.
  const std::vector<std::string>& subscription() const { return subscription_; }
  const KafkaOptions& options() const { return options_; }

 private:
  KafkaConsumer() = default;
  static void on_rebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                           void* opaque);
  static void on_commit(rd_kafka_t* handle, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                        void* opaque);

  KafkaOptions options_;
  std::string group_id_;
  bool auto_commit_ = true;
  std::vector<std::string> subscription_;
  RebalanceListener* listener_ = nullptr;
  HandlePtr handle_;
  QueuePtr queue_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_error_log_{};
  // Offsets stored and not yet committed, with when: consumer_commit_delay_seconds.
  struct Stored {
    std::int64_t offset;
    std::chrono::steady_clock::time_point at;
  };
  std::map<TopicPartition, std::deque<Stored>> uncommitted_;
  prometheus::Histogram* commit_delay_ = nullptr;
};

// Applies a topic prefix to a name or to a '^' regex.
std::string prefixed_topic(std::string_view prefix, std::string_view topic);

}  // namespace paypipe::events
