#pragma once
// The expiry sweep: unpaid orders past their deadline (expiresAt + grace) become
// EXPIRED, their holds are released and order.cancelled (EXPIRED) is emitted, in
// batches of one transaction each (order_store.hpp: expire_batch).
//
// Safe with several replicas: each batch takes its orders FOR UPDATE SKIP LOCKED, so
// two sweepers never expire one order twice nor wait for each other, and an order a
// consumer is completing at that moment is skipped (and then no longer pending).
//
// A payment accepted just before the deadline may reach us after the sweep expired its
// order: then the refund saga gives the money back (docs/architecture.md). The grace
// makes that rare; it cannot make it impossible.
//
// Threading: start() runs the periodic sweep on its own thread (not when the interval
// is 0); sweep_now() may be called from any thread at the same time (the admin
// endpoint). stop() lets the batch in progress finish (bounded by the statement
// timeout), then joins.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "order_processor/config.hpp"
#include "pg/pool.hpp"

namespace paypipe::order_processor {

class ExpirySweeper {
 public:
  ExpirySweeper(pg::Pool& pool, ExpirySettings settings);
  ~ExpirySweeper();  // stop()
  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

  void start();
  void stop();
  // Expires every order due now, batch by batch; returns how many.
  core::Result<std::size_t> sweep_now();

 private:
  void run();

  pg::Pool& pool_;
  ExpirySettings settings_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace paypipe::order_processor
