#pragma once
// A bounded pool of PostgreSQL connections. Thread-safe.
//
// Connections are opened lazily up to `size`; a caller waits up to acquire_timeout for
// one, then gets `unavailable`. A connection that comes back broken, or still inside a
// transaction, is closed rather than reused.
//
// Dead connections (PostgreSQL restarted, failed over, or cut the connection) are
// noticed at once rather than one failed request at a time:
//  - acquire() hands out no idle connection whose socket shows the server has closed it
//    (a non-blocking read at hand-out);
//  - a connection that comes back broken starts a new generation: every idle connection
//    opened before it is dropped (they went to the same server, which is gone), and the
//    next callers get fresh ones;
//  - ping() retries once on a fresh connection when its first one turns out dead;
//  - a connection whose server refused a write as read-only (SQLSTATE 25006: after a
//    failover, the old primary) counts as broken, so it and its idle siblings are
//    replaced by connections opened anew.
//
// Metrics (core::metrics' registry, label `pool` = PoolOptions::name; pools of one name
// add up): pg_pool_size, pg_pool_connections_in_use, pg_pool_acquire_waits_total and
// pg_pool_acquire_wait_seconds (acquisitions that found no connection free, and how long
// they waited), pg_pool_acquire_timeouts_total.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

#include "pg/pg.hpp"

namespace paypipe::pg {

struct PoolOptions {
  ConnectOptions connect;
  std::size_t size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  std::string name = "main";  // the metrics' `pool` label
};

struct PoolMetrics;

class Pool {
 public:
  explicit Pool(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Pool* pool, Connection connection, std::uint64_t generation)
        : pool_(pool), connection_(std::move(connection)), generation_(generation) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          connection_(std::move(other.connection_)),
          generation_(other.generation_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return &*connection_; }

   private:
    Pool* pool_;
    std::optional<Connection> connection_;
    std::uint64_t generation_;
  };

  core::Result<Lease> acquire();

  // Runs fn(Transaction&) -> core::Status in one transaction on a pooled connection:
  // commits when fn succeeds, rolls back when it fails.
  core::Status transact(const std::function<core::Status(Transaction&)>& fn);

  // Opens (or reuses) a connection and asks whether it may write (a read-only server,
  // such as an old primary after a failover, fails it); a pooled connection found dead
  // or read-only is replaced and the query retried once on a fresh connection.
  core::Status ping();

  const PoolOptions& options() const { return options_; }

 private:
  struct Idle {
    Connection connection;
    std::uint64_t generation;
  };
  void give_back(Connection connection, std::uint64_t generation);
  // Under mutex_: drops the idle connections of generations before the current one.
  void drop_stale_idle();

  PoolOptions options_;
  PoolMetrics& metrics_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::deque<Idle> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
  std::uint64_t generation_ = 0;  // bumped when a connection is found dead
};

}  // namespace paypipe::pg
