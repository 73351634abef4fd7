#pragma once
// Keeps dlq_retrier_parked_records{group,status} equal to the parked store's row counts:
// a thread that counts every `period` (a GROUP BY over an index), so /metrics never
// waits on the database. A group whose rows are gone reads 0, not its last value.

#include <chrono>
#include <set>
#include <string>
#include <utility>

#include "pg/pool.hpp"
#include "runtime/periodic.hpp"

namespace paypipe::dlq_retrier {

class ParkedGauge {
 public:
  ParkedGauge(pg::Pool& pool, std::chrono::milliseconds period);
  void start() { counting_.start(); }
  void stop() { counting_.stop(); }

 private:
  void refresh();

  pg::Pool& pool_;
  std::set<std::pair<std::string, std::string>> seen_;  // only the counting thread touches it
  runtime::Periodic counting_;  // last: stops (in its destructor) before the rest goes
};

}  // namespace paypipe::dlq_retrier
