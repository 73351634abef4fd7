#include "events/lane_scheduler.hpp"

namespace paypipe::events {

bool LaneScheduler::is_head(Id id, const Job& job) const {
  const auto it = lanes_.find(job.lane);
  return it != lanes_.end() && !it->second.empty() && it->second.front() == id;
}

bool LaneScheduler::push(Id id, std::string lane, TopicPartition partition) {
  auto& queue = lanes_[lane];
  queue.push_back(id);
  auto& job = jobs_[id];
  job.lane = std::move(lane);
  job.partition = std::move(partition);
  if (queue.size() == 1 && !held(job.partition)) {
    job.state = State::running;
    return true;
  }
  return false;
}

void LaneScheduler::run(Id id) {
  const auto it = jobs_.find(id);
  if (it != jobs_.end() && is_head(id, it->second)) it->second.state = State::running;
}

void LaneScheduler::wait(Id id) {
  const auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second.state = State::waiting;
}

bool LaneScheduler::running(Id id) const {
  const auto it = jobs_.find(id);
  return it != jobs_.end() && it->second.state == State::running;
}

std::optional<LaneScheduler::Id> LaneScheduler::finish(Id id) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  const auto lane_name = it->second.lane;
  jobs_.erase(it);
  const auto lane = lanes_.find(lane_name);
  if (lane == lanes_.end()) return std::nullopt;
  auto& queue = lane->second;
  std::erase(queue, id);
  if (queue.empty()) {
    lanes_.erase(lane);
    return std::nullopt;
  }
  auto& next = jobs_.at(queue.front());
  if (next.state != State::queued || held(next.partition)) return std::nullopt;
  next.state = State::running;
  return queue.front();
}

void LaneScheduler::hold(const TopicPartition& partition) { held_.insert(partition); }

std::vector<LaneScheduler::Id> LaneScheduler::release(const TopicPartition& partition) {
  std::vector<Id> start;
  if (held_.erase(partition) == 0) return start;
  for (const auto& [name, queue] : lanes_) {
    if (queue.empty()) continue;
    auto& head = jobs_.at(queue.front());
    if (head.partition == partition && head.state == State::queued) {
      head.state = State::running;
      start.push_back(queue.front());
    }
  }
  return start;
}

std::vector<LaneScheduler::Id> LaneScheduler::drop_idle(const PartitionFilter& which) {
  std::vector<Id> dropped;
  for (auto lane = lanes_.begin(); lane != lanes_.end();) {
    auto& queue = lane->second;
    if (queue.empty() || !which(jobs_.at(queue.front()).partition)) {
      ++lane;
      continue;
    }
    std::erase_if(queue, [&](Id id) {
      if (jobs_.at(id).state == State::running) return false;
      dropped.push_back(id);
      jobs_.erase(id);
      return true;
    });
    lane = queue.empty() ? lanes_.erase(lane) : std::next(lane);
  }
  return dropped;
}

bool LaneScheduler::any_running(const PartitionFilter& which) const {
  for (const auto& [id, job] : jobs_) {
    if (job.state == State::running && which(job.partition)) return true;
  }
  return false;
}

std::vector<LaneScheduler::Id> LaneScheduler::forget(const PartitionFilter& which) {
  std::vector<Id> dropped;
  for (auto lane = lanes_.begin(); lane != lanes_.end();) {
    auto& queue = lane->second;
    if (!queue.empty() && which(jobs_.at(queue.front()).partition)) {
      for (const auto id : queue) {
        dropped.push_back(id);
        jobs_.erase(id);
      }
      lane = lanes_.erase(lane);
    } else {
      ++lane;
    }
  }
  for (auto it = held_.begin(); it != held_.end();) it = which(*it) ? held_.erase(it) : std::next(it);
  return dropped;
}

}  // namespace paypipe::events
