#pragma once
// A pass run on a thread of its own every `period`, the first as soon as it starts: the
// upkeep a daemon does beside its loops (counting rows for a gauge, pruning old rows).
// A pass reports its own failures (a log line) and is simply run again next period.
//
//   auto& gauge = service->make<runtime::Periodic>("parked-gauge", 5s, [&] { refresh(); });
//   service->add_start("parked gauge", [&gauge] { gauge.start(); });
//   service->add_stop("parked gauge", [&gauge] { gauge.stop(); });

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace paypipe::runtime {

class Periodic {
 public:
  // `thread_name`: at most 15 characters (pthread_setname_np).
  Periodic(std::string thread_name, std::chrono::milliseconds period, std::function<void()> pass);
  ~Periodic();  // stop()
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void start();
  // Ends the wait at once; a pass under way finishes first. Idempotent.
  void stop();

 private:
  std::string thread_name_;
  std::chrono::milliseconds period_;
  std::function<void()> pass_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace paypipe::runtime
