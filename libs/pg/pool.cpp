#include "pg/pool.hpp"

namespace paypipe::pg {

Pool::Pool(PoolOptions options) : options_(std::move(options)) {}

Pool::Lease::~Lease() {
  if (connection_ && pool_) pool_->give_back(std::move(*connection_));
}

void Pool::give_back(Connection connection) {
  const bool reusable = connection.healthy() && PQtransactionStatus(connection.native()) == PQTRANS_IDLE;
  std::lock_guard lock(mutex_);
  if (reusable) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;  // dropped; `connection` closes on scope exit
  }
  available_.notify_one();
}

core::Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  while (idle_.empty() && open_ >= options_.size) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      return core::make_error(core::ErrorCategory::unavailable, "pg-pool-exhausted",
                              "no PostgreSQL connection free within the acquire timeout");
    }
  }
  if (!idle_.empty()) {
    Connection connection = std::move(idle_.front());
    idle_.pop_front();
    return Lease(this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  auto connection = Connection::connect(options_.connect);
  if (!connection) {
    lock.lock();
    --open_;
    available_.notify_one();
    return connection.error();
  }
  return Lease(this, std::move(connection).value());
}

core::Status Pool::transact(const std::function<core::Status(Transaction&)>& fn) {
  auto lease = acquire();
  if (!lease) return lease.error();
  auto tx = Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto status = fn(*tx); !status) return status;  // ~Transaction rolls back
  return tx->commit();
}

core::Status Pool::ping() {
  auto lease = acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->exec("SELECT 1");
  if (!rows) return rows.error();
  return {};
}

}  // namespace paypipe::pg
