#pragma once
// Groups items that arrive together: `workers` threads each take up to max_batch
// queued items at once (waiting up to `linger` for more when fewer are queued) and
// hand them to `process` as one batch. With max_batch = 1 every item is its own batch.
//
// Bounded: push() refuses items beyond `capacity`, so an overloaded service answers
// "try later" instead of queueing without limit. stop() processes what is queued, then
// joins the workers.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
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
  };

  BatchQueue(Options options, std::function<void(std::vector<T>&)> process)
      : options_(std::move(options)), process_(std::move(process)) {
    if (options_.max_batch == 0) options_.max_batch = 1;
    for (std::size_t i = 0; i < options_.workers; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
        run();
      });
    }
  }
  ~BatchQueue() { stop(); }
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // False when the queue is full or stopping: the item was not taken.
  bool push(T item) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= options_.capacity) return false;
      queue_.push_back(std::move(item));
    }
    wake_.notify_one();
    return true;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  void run() {
    std::vector<T> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        if (queue_.size() < options_.max_batch && options_.linger.count() > 0 && !stopping_) {
          wake_.wait_for(lock, options_.linger, [this] { return stopping_ || queue_.size() >= options_.max_batch; });
        }
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (!batch.empty()) process_(batch);
    }
  }

  Options options_;
  std::function<void(std::vector<T>&)> process_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<T> queue_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace paypipe::core
