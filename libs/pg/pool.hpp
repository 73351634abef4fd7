#pragma once
// A bounded pool of PostgreSQL connections. Thread-safe.
//
// Connections are opened lazily up to `size`; a caller waits up to acquire_timeout for
// one, then gets `unavailable`. A connection that comes back broken, or still inside a
// transaction, is closed rather than reused.

#include <condition_variable>
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
};

class Pool {
 public:
  explicit Pool(PoolOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Pool* pool, Connection connection) : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return &*connection_; }

   private:
    Pool* pool_;
    std::optional<Connection> connection_;
  };

  core::Result<Lease> acquire();

  // Runs fn(Transaction&) -> core::Status in one transaction on a pooled connection:
  // commits when fn succeeds, rolls back when it fails.
  core::Status transact(const std::function<core::Status(Transaction&)>& fn);

  // Opens (or reuses) a connection and runs SELECT 1.
  core::Status ping();

  const PoolOptions& options() const { return options_; }

 private:
  void give_back(Connection connection);

  PoolOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::deque<Connection> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace paypipe::pg
