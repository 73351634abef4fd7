#pragma once
// Reads a consumer group's partitions from where the group has got to, without joining
// the group: what it has not handled yet, between its committed offsets and the ends
// of the partitions (dlq-retrier's list of waiting dead letters).
//
// The handle carries the group's id only to ask for its committed offsets: it assigns
// partitions itself (no subscription, so it is never a member and never triggers a
// rebalance) and it never commits (enable.auto.commit=false, no commit call), so the
// group's members and offsets are untouched. Reads are read_committed, as every
// consumer of ours reads.
//
// Threading: one thread at a time (the caller serialises).

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

// One partition's records not yet handled by the group: [start(), high).
struct PartitionWindow {
  TopicPartition partition;
  std::int64_t committed = -1;  // the group's next offset to read; -1: it has committed none
  std::int64_t low = 0;         // the first offset the partition still keeps
  std::int64_t high = 0;        // the high watermark: the next offset to be written
  std::int64_t start() const { return committed < low ? low : committed; }
  // An upper bound of the records in the window (transaction markers take offsets too).
  std::int64_t span() const { return high > start() ? high - start() : 0; }
};

class PartitionReader {
 public:
  // `group` is the logical group name (the id is options.group(group): mapped, prefixed).
  static core::Result<std::unique_ptr<PartitionReader>> create(const KafkaOptions& options, const std::string& group);
  ~PartitionReader();
  PartitionReader(const PartitionReader&) = delete;
  PartitionReader& operator=(const PartitionReader&) = delete;

  // The partitions of every topic whose full name `wanted` accepts, from the cluster
  // metadata, sorted.
  core::Result<std::vector<TopicPartition>> partitions(const std::function<bool(std::string_view)>& wanted,
                                                       std::chrono::milliseconds timeout);
  // The group's committed offsets and the watermarks of `partitions`, in their order.
  core::Result<std::vector<PartitionWindow>> windows(const std::vector<TopicPartition>& partitions,
                                                     std::chrono::milliseconds timeout);
  // Up to `limit` records of `partition` with offsets in [from, end), in offset order.
  // Stops early at the end of the partition; unavailable if nothing at all arrives
  // within `timeout` although records should have.
  core::Result<std::vector<ConsumedRecord>> read(const TopicPartition& partition, std::int64_t from, std::int64_t end,
                                                 std::size_t limit, std::chrono::milliseconds timeout);

 private:
  PartitionReader() = default;
  HandlePtr handle_;
};

}  // namespace paypipe::events
