#pragma once
// A fixed set of worker threads draining one FIFO queue. Used where blocking work (a
// database call inside an HTTP handler) must stay off an event loop.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace paypipe::core {

class ThreadPool {
 public:
  explicit ThreadPool(std::size_t threads, const std::string& name = "worker");
  ~ThreadPool();  // runs what is queued, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; tasks run in FIFO order on any worker. Tasks must not throw.
  void post(std::function<void()> task);
  // Stops taking tasks, finishes the queued ones, joins. Idempotent.
  void stop();
  std::size_t queued() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace paypipe::core
