#pragma once
// Keeps dlq_retrier_parked_records{group,status} equal to the parked store's row counts:
// a thread that counts every `period` (a GROUP BY over an index), so /metrics never
// waits on the database. A group whose rows are gone reads 0, not its last value.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "pg/pool.hpp"

namespace paypipe::dlq_retrier {

class ParkedGauge {
 public:
  ParkedGauge(pg::Pool& pool, std::chrono::milliseconds period);
  ~ParkedGauge();  // stop()
  void start();
  void stop();

 private:
  void refresh();

  pg::Pool& pool_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::set<std::pair<std::string, std::string>> seen_;
  std::thread thread_;
};

}  // namespace paypipe::dlq_retrier
