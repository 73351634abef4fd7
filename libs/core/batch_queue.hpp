#pragma once
// Groups items that arrive together: `workers` threads each take up to max_batch
// queued items at once (waiting up to `linger` for more when fewer are queued) and
// hand them to `process` as one batch. With max_batch = 1 every item is its own batch.
//
// Bounded: push() refuses items beyond `capacity`, so an overloaded service answers
// "try later" instead of queueing without limit. stop() processes what is queued, then
// joins the workers.
//
// With `lane_of` set, each item has a lane (lane_of(item) % workers) and each worker
// serves one lane alone: items of a lane are processed in arrival order, one batch at a
// time, never by two workers at once (payment-api: one user's payments never wait in
// PostgreSQL for another worker's transaction on the same wallet row).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace paypipe::core {

template <typename T>
class BatchQueue {
 public:
  struct Options {
    std::size_t workers = 4;
    std::size_t max_batch = 64;
    std::chrono::microseconds linger{0};
    std::size_t capacity = 10000;
    std::string name = "batch";
    std::function<std::size_t(const T&)> lane_of = nullptr;  // empty: every worker takes any item
  };

  BatchQueue(Options options, std::function<void(std::vector<T>&)> process)
      : options_(std::move(options)), process_(std::move(process)) {
    if (options_.max_batch == 0) options_.max_batch = 1;
    if (options_.workers == 0) options_.workers = 1;
    const std::size_t lanes = options_.lane_of ? options_.workers : 1;
    for (std::size_t i = 0; i < lanes; ++i) lanes_.push_back(std::make_unique<Lane>());
    for (std::size_t i = 0; i < options_.workers; ++i) {
      threads_.emplace_back([this, &lane = *lanes_[i % lanes]] {
        pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
        run(lane);
      });
    }
  }
  ~BatchQueue() { stop(); }
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // False when the queue is full or stopping: the item was not taken.
  bool push(T item) {
    Lane& lane = *lanes_[options_.lane_of ? options_.lane_of(item) % lanes_.size() : 0];
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queued_ >= options_.capacity) return false;
      lane.items.push_back(std::move(item));
      ++queued_;
    }
    lane.wake.notify_one();
    return true;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    for (auto& lane : lanes_) lane->wake.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return queued_;
  }

 private:
  struct Lane {
    std::deque<T> items;
    std::condition_variable wake;
  };

  void run(Lane& lane) {
    std::vector<T> batch;
    auto& queue = lane.items;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mutex_);
        lane.wake.wait(lock, [&] { return stopping_ || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        if (queue.size() < options_.max_batch && options_.linger.count() > 0 && !stopping_) {
          lane.wake.wait_for(lock, options_.linger, [&] { return stopping_ || queue.size() >= options_.max_batch; });
        }
        while (!queue.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        queued_ -= batch.size();
      }
      if (!batch.empty()) process_(batch);
    }
  }

  Options options_;
  std::function<void(std::vector<T>&)> process_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // one, or one per worker with lane_of
  std::size_t queued_ = 0;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace paypipe::core
