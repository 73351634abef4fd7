#pragma once
// Collects the outcomes a concurrent handler reports through its callback, from any
// thread, for a test to wait on and read.

#include <cstddef>
#include <mutex>
#include <vector>

#include "events/consumer_runtime.hpp"

namespace paypipe::testing {

class Outcomes {
 public:
  // The callback stores into this object: it must outlive every call.
  events::OutcomeCallback callback() {
    return [this](events::Outcome o) {
      std::lock_guard lock(mutex_);
      list_.push_back(std::move(o));
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return list_.size();
  }
  std::vector<events::Outcome> all() {
    std::lock_guard lock(mutex_);
    return list_;
  }

 private:
  std::mutex mutex_;
  std::vector<events::Outcome> list_;
};

}  // namespace paypipe::testing
