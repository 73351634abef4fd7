#include "events/offset_tracker.hpp"

#include <algorithm>

namespace paypipe::events {

std::uint64_t OffsetTracker::assign(const TopicPartition& partition) {
  auto& p = partitions_[partition];
  p = Progress{};
  p.epoch = next_epoch_++;
  return p.epoch;
}

void OffsetTracker::revoke(const TopicPartition& partition) { partitions_.erase(partition); }

bool OffsetTracker::assigned(const TopicPartition& partition) const { return partitions_.count(partition) != 0; }

std::vector<TopicPartition> OffsetTracker::partitions() const {
  std::vector<TopicPartition> out;
  out.reserve(partitions_.size());
  for (const auto& [tp, p] : partitions_) out.push_back(tp);
  return out;
}

std::uint64_t OffsetTracker::admit(const TopicPartition& partition, std::int64_t offset) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) {
    assign(partition);
    it = partitions_.find(partition);
  }
  auto& p = it->second;
  p.pending.insert(offset);
  p.next = std::max(p.next, offset + 1);
  return p.epoch;
}

bool OffsetTracker::finish(const TopicPartition& partition, std::int64_t offset, std::uint64_t epoch) {
  if (!current(partition, epoch)) return false;
  partitions_[partition].pending.erase(offset);
  return true;
}

bool OffsetTracker::current(const TopicPartition& partition, std::uint64_t epoch) const {
  const auto it = partitions_.find(partition);
  return it != partitions_.end() && it->second.epoch == epoch;
}

std::vector<std::int64_t> OffsetTracker::pending(const TopicPartition& partition) const {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return {};
  return {it->second.pending.begin(), it->second.pending.end()};
}

std::optional<std::int64_t> OffsetTracker::lowest_unfinished(const TopicPartition& partition) const {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.pending.empty()) return std::nullopt;
  return *it->second.pending.begin();
}

std::optional<std::int64_t> OffsetTracker::committable(const TopicPartition& partition) const {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return std::nullopt;
  const auto& p = it->second;
  const std::int64_t offset = p.pending.empty() ? p.next : *p.pending.begin();
  if (offset < 0 || offset <= p.stored) return std::nullopt;
  return offset;
}

void OffsetTracker::stored(const TopicPartition& partition, std::int64_t offset) {
  const auto it = partitions_.find(partition);
  if (it != partitions_.end()) it->second.stored = std::max(it->second.stored, offset);
}

}  // namespace paypipe::events
