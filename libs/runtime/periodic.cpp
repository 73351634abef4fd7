#include "runtime/periodic.hpp"

#include <pthread.h>

namespace paypipe::runtime {

Periodic::Periodic(std::string thread_name, std::chrono::milliseconds period, std::function<void()> pass)
    : thread_name_(std::move(thread_name)), period_(period), pass_(std::move(pass)) {}

Periodic::~Periodic() { stop(); }

void Periodic::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), thread_name_.substr(0, 15).c_str());
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      pass_();
      lock.lock();
      wake_.wait_for(lock, period_, [this] { return stopping_; });
    }
  });
}

void Periodic::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace paypipe::runtime
