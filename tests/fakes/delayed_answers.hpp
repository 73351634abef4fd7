#pragma once
// Answers HTTP requests later without holding a thread per request: one timer thread
// and a queue ordered by due time. The fakes use it for "answer in 50 ms" and "stall".

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>

#include "http/router.hpp"

namespace paypipe::testing {

class DelayedAnswers {
 public:
  DelayedAnswers() : thread_([this] { run(); }) {}
  ~DelayedAnswers() { stop(); }

  void answer_after(std::chrono::milliseconds delay, http::Responder respond, http::Response response) {
    if (delay.count() <= 0) {
      respond(std::move(response));
      return;
    }
    {
      std::lock_guard lock(mutex_);
      queue_.push(Pending{std::chrono::steady_clock::now() + delay, std::move(respond), std::move(response)});
    }
    wake_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Pending {
    std::chrono::steady_clock::time_point due;
    http::Responder respond;
    http::Response response;
    bool operator>(const Pending& other) const { return due > other.due; }
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (queue_.empty()) {
        wake_.wait(lock);
        continue;
      }
      const auto due = queue_.top().due;
      if (std::chrono::steady_clock::now() < due) {
        wake_.wait_until(lock, due);
        continue;
      }
      auto pending = queue_.top();
      queue_.pop();
      lock.unlock();
      pending.respond(std::move(pending.response));
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace paypipe::testing
