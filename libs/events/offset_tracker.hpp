#pragma once
// Which offsets of each assigned partition may be committed: the pure bookkeeping of
// the consumer runtime, with no Kafka in it (unit-tested in tests/offset_tracker_test.cpp).
//
// A polled record is admitted (pending) until it finishes: its work is durable, or it
// was dead-lettered. The offset a partition may store is its lowest unfinished offset,
// or one past the highest polled when none is pending: never past an unfinished
// record, whatever finished after it. A record released unfinished (stop, revoke,
// an abandoned job) stays pending, so it and everything after it are redelivered.
//
// Each assignment of a partition gets a new epoch. A record remembers the epoch it was
// polled in; a completion from an older epoch (the partition was revoked, maybe
// reassigned since) is stale and ignored: it can neither finish a record of the new
// assignment nor move its offset.
//
// Threading: none; the consumer runtime's poll thread owns it.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "events/kafka.hpp"

namespace paypipe::events {

class OffsetTracker {
 public:
  // A new assignment of `partition` (a fresh epoch); what it held before is forgotten.
  std::uint64_t assign(const TopicPartition& partition);
  // The partition went away (revoked or lost): later completions for it are stale.
  void revoke(const TopicPartition& partition);
  bool assigned(const TopicPartition& partition) const;
  std::vector<TopicPartition> partitions() const;

  // A record was polled; returns the epoch it belongs to. A partition not yet known is
  // assigned implicitly (a record can arrive before the runtime hears of it).
  std::uint64_t admit(const TopicPartition& partition, std::int64_t offset);
  // The record of `epoch` finished. False if the completion is stale (then nothing changed).
  bool finish(const TopicPartition& partition, std::int64_t offset, std::uint64_t epoch);
  // True while `epoch` is the partition's current assignment.
  bool current(const TopicPartition& partition, std::uint64_t epoch) const;

  // Polled and not finished, lowest first (what a revoke must wait for or give up).
  std::vector<std::int64_t> pending(const TopicPartition& partition) const;
  std::optional<std::int64_t> lowest_unfinished(const TopicPartition& partition) const;
  // The offset to store now (the next offset to consume), or nullopt when it would
  // not move past what was stored already.
  std::optional<std::int64_t> committable(const TopicPartition& partition) const;
  void stored(const TopicPartition& partition, std::int64_t offset);

 private:
  struct Progress {
    std::uint64_t epoch = 0;
    std::set<std::int64_t> pending;
    std::int64_t next = -1;    // highest polled offset + 1
    std::int64_t stored = -1;  // last offset stored
  };
  std::map<TopicPartition, Progress> partitions_;
  std::uint64_t next_epoch_ = 1;
};

}  // namespace paypipe::events
