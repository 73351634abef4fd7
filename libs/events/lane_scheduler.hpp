#pragma once
// The concurrent consumer runtime's scheduling, with no Kafka and no threads in it
// (unit-tested in tests/lane_scheduler_test.cpp).
//
// A job (one polled record, named by an id) joins the lane of its key (topic,
// partition, key). Jobs of one lane run one at a time, in the order they joined; lanes
// run in parallel, so a stuck key (a slow call, a retry in backoff) holds only its own
// lane. At most max_in_flight jobs are admitted at once (running, waiting or queued):
// the runtime stops taking records while full().
//
// A lane's head is in one of three states: queued (not started: its partition is
// held, or it just joined), running (the handler or the dead-letter producer has it),
// waiting (on a timer: a retry's backoff, an infrastructure wait). A held partition
// (waiting out an infrastructure failure) starts no new job until released.
//
// Revoke and stop: drop_idle() takes away, at once, every job of the given partitions
// that is not running (queued ones, heads in backoff); what is still running is what
// a revoke or stop must wait for (running()); forget() then drops the rest.
//
// Threading: none; the consumer runtime's poll thread owns it.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/kafka.hpp"

namespace paypipe::events {

class LaneScheduler {
 public:
  using Id = std::uint64_t;
  using PartitionFilter = std::function<bool(const TopicPartition&)>;

  explicit LaneScheduler(std::size_t max_in_flight) : max_in_flight_(max_in_flight == 0 ? 1 : max_in_flight) {}

  std::size_t size() const { return jobs_.size(); }
  bool full() const { return jobs_.size() >= max_in_flight_; }
  bool contains(Id id) const { return jobs_.count(id) != 0; }

  // A polled job joins its lane. True if it should start now (then it is running).
  bool push(Id id, std::string lane, TopicPartition partition);
  // The job (its lane's head) is running again after a wait.
  void run(Id id);
  // The job (its lane's head) waits on a timer; its lane waits with it.
  void wait(Id id);
  bool running(Id id) const;
  // The job (its lane's head) is done for good: it leaves. Returns the lane's next job
  // if it should start now (then it is running).
  std::optional<Id> finish(Id id);

  // An infrastructure stall: no job of `partition` starts until release().
  void hold(const TopicPartition& partition);
  bool held(const TopicPartition& partition) const { return held_.count(partition) != 0; }
  // Ends the hold; returns the queued lane heads of the partition to start now (then
  // they are running).
  std::vector<Id> release(const TopicPartition& partition);

  // Drops every job of the partitions `which` selects that is not running; returns them.
  std::vector<Id> drop_idle(const PartitionFilter& which);
  // True while a job of the partitions `which` selects is running.
  bool any_running(const PartitionFilter& which) const;
  // Drops every job of the partitions `which` selects, running or not; returns them.
  std::vector<Id> forget(const PartitionFilter& which);

 private:
  enum class State { queued, running, waiting };
  struct Job {
    std::string lane;
    TopicPartition partition;
    State state = State::queued;
  };
  bool is_head(Id id, const Job& job) const;

  std::size_t max_in_flight_;
  std::unordered_map<Id, Job> jobs_;
  std::map<std::string, std::deque<Id>> lanes_;
  std::set<TopicPartition> held_;
};

}  // namespace paypipe::events
