#include "notification_sender/send_gate.hpp"

#include <pthread.h>

#include <algorithm>

namespace paypipe::notification_sender {

namespace {
constexpr std::chrono::milliseconds drop_poll{200};
}  // namespace

SendGate::SendGate(std::chrono::milliseconds max_closure)
    : max_closure_(std::max(max_closure, std::chrono::milliseconds(0))), thread_([this] { run(); }) {}

SendGate::~SendGate() { stop(); }

void SendGate::submit(Task task) {
  // Each branch unlocks before it runs, cancels or wakes; the task is moved in one only.
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    if (task.cancel) task.cancel();  // not sent: the record is redelivered after the restart
  } else if (!waiting_.empty() || Clock::now() < closed_until_) {
    waiting_.push_back(std::move(task));
    lock.unlock();
    wake_.notify_one();
  } else {
    lock.unlock();
    task.run();
  }
}

void SendGate::close_for(std::chrono::milliseconds wait) {
  wait = std::clamp(wait, std::chrono::milliseconds(0), max_closure_);
  std::lock_guard lock(mutex_);
  const auto until = Clock::now() + wait;
  if (until > closed_until_) closed_until_ = until;
  wake_.notify_one();
}

bool SendGate::open() const {
  std::lock_guard lock(mutex_);
  return Clock::now() >= closed_until_;
}

std::size_t SendGate::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

void SendGate::stop() {
  std::deque<Task> cancelled;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    cancelled.swap(waiting_);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& task : cancelled) {
    if (task.cancel) task.cancel();
  }
}

void SendGate::run() {
  pthread_setname_np(pthread_self(), "send-gate");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (waiting_.empty()) {
      wake_.wait(lock);
      continue;
    }
    if (Clock::now() < closed_until_) {
      // Wake a few times a second to let go of tasks that no longer may send.
      wake_.wait_until(lock, std::min(closed_until_, Clock::now() + drop_poll));
      std::deque<Task> dropped;
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (it->dropped && it->dropped()) {
          dropped.push_back(std::move(*it));
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
      if (!dropped.empty()) {
        lock.unlock();
        for (auto& task : dropped) {
          if (task.cancel) task.cancel();
        }
        lock.lock();
      }
      continue;
    }
    // Open: release one at a time, checking the gate again before each, so a 429 that
    // arrives meanwhile holds back the rest.
    auto task = std::move(waiting_.front());
    waiting_.pop_front();
    lock.unlock();
    task.run();
    lock.lock();
  }
}

}  // namespace paypipe::notification_sender
