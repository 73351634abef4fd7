#include "pg/pool.hpp"

#include <poll.h>

#include <map>
#include <memory>

#include "core/metrics.hpp"

namespace paypipe::pg {

namespace {

// True when an idle connection still looks usable: nothing has arrived on its socket,
// or what arrived (a notice, a NOTIFY) left it connected. A server that shut down sends
// an error and closes the socket; reading that turns the status to CONNECTION_BAD.
bool idle_connection_alive(Connection& connection) {
  PGconn* conn = connection.native();
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return false;
  // A few rounds: the server's goodbye message and the end of the stream may be read
  // apart.
  for (int round = 0; round < 3; ++round) {
    pollfd fd{PQsocket(conn), POLLIN, 0};
    const int ready = ::poll(&fd, 1, 0);
    if (ready < 0) return false;
    if (ready == 0) break;
    if ((fd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
    if (PQconsumeInput(conn) != 1) return false;
    if (PQstatus(conn) != CONNECTION_OK) return false;
  }
  return PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
}

}  // namespace

struct PoolMetrics {
  prometheus::Gauge& size;
  prometheus::Gauge& in_use;
  prometheus::Counter& waits;
  prometheus::Histogram& wait_seconds;
  prometheus::Counter& timeouts;

  static PoolMetrics& of(const std::string& pool) {
    auto& r = core::metrics::registry();
    static auto& size =
        prometheus::BuildGauge().Name("pg_pool_size").Help("PostgreSQL connections the pool may open").Register(r);
    static auto& in_use = prometheus::BuildGauge()
                              .Name("pg_pool_connections_in_use")
                              .Help("PostgreSQL connections handed out by the pool now")
                              .Register(r);
    static auto& waits = prometheus::BuildCounter()
                             .Name("pg_pool_acquire_waits_total")
                             .Help("Acquisitions that found no PostgreSQL connection free and waited")
                             .Register(r);
    static auto& wait_seconds = prometheus::BuildHistogram()
                                    .Name("pg_pool_acquire_wait_seconds")
                                    .Help("How long the acquisitions that waited waited, timed out or not")
                                    .Register(r);
    static auto& timeouts = prometheus::BuildCounter()
                                .Name("pg_pool_acquire_timeouts_total")
                                .Help("Acquisitions that got no PostgreSQL connection within the acquire timeout")
                                .Register(r);
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<PoolMetrics>> by_pool;
    std::lock_guard lock(mutex);
    auto& metrics = by_pool[pool];
    if (!metrics) {
      const prometheus::Labels labels{{"pool", pool}};
      metrics.reset(new PoolMetrics{size.Add(labels), in_use.Add(labels), waits.Add(labels),
                                    wait_seconds.Add(labels, core::metrics::latency_buckets()), timeouts.Add(labels)});
    }
    return *metrics;
  }
};

Pool::Pool(PoolOptions options) : options_(std::move(options)), metrics_(PoolMetrics::of(options_.name)) {
  metrics_.size.Increment(static_cast<double>(options_.size));
}

Pool::~Pool() { metrics_.size.Decrement(static_cast<double>(options_.size)); }

Pool::Lease::~Lease() {
  if (connection_ && pool_) pool_->give_back(std::move(*connection_), generation_);
}

void Pool::drop_stale_idle() {
  while (!idle_.empty() && idle_.front().generation < generation_) {
    idle_.pop_front();
    --open_;
  }
  // Idle connections are kept in return order, not generation order: sweep the rest.
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (it->generation < generation_) {
      it = idle_.erase(it);
      --open_;
    } else {
      ++it;
    }
  }
}

void Pool::give_back(Connection connection, std::uint64_t generation) {
  const bool healthy = connection.healthy();
  const bool reusable = healthy && PQtransactionStatus(connection.native()) == PQTRANS_IDLE;
  metrics_.in_use.Decrement();
  std::lock_guard lock(mutex_);
  if (!healthy && generation == generation_) {
    // The server this connection reached is gone (restart, failover, network): so are
    // the idle connections opened to it before.
    ++generation_;
    drop_stale_idle();
  }
  if (reusable && generation == generation_) {
    idle_.push_back(Idle{std::move(connection), generation});
  } else {
    --open_;  // dropped; `connection` closes on scope exit
  }
  available_.notify_all();
}

core::Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + options_.acquire_timeout;
  bool waited = false;
  // Once per acquisition that waited, whatever its outcome.
  auto record_wait = [&] {
    if (!waited) return;
    waited = false;
    metrics_.waits.Increment();
    metrics_.wait_seconds.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  auto hand_out = [&](Connection connection, std::uint64_t generation) {
    record_wait();
    metrics_.in_use.Increment();
    return Lease(this, std::move(connection), generation);
  };
  for (;;) {
    while (idle_.empty() && open_ >= options_.size) {
      waited = true;
      if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= options_.size) {
        record_wait();
        metrics_.timeouts.Increment();
        return core::make_error(core::ErrorCategory::unavailable, "pg-pool-exhausted",
                                "no PostgreSQL connection free within the acquire timeout");
      }
    }
    if (idle_.empty()) break;  // room to open a new one
    Idle idle = std::move(idle_.front());
    idle_.pop_front();
    if (idle.generation == generation_ && idle_connection_alive(idle.connection)) {
      return hand_out(std::move(idle.connection), idle.generation);
    }
    // Known broken: never handed out. Its siblings of the same generation are suspect.
    --open_;
    if (idle.generation == generation_) ++generation_;
    drop_stale_idle();
  }
  ++open_;
  const auto generation = generation_;
  lock.unlock();
  auto connection = Connection::connect(options_.connect);
  if (!connection) {
    lock.lock();
    --open_;
    available_.notify_one();
    record_wait();
    return connection.error();
  }
  return hand_out(std::move(connection).value(), generation);
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
  core::Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool connection_died = false;
    {
      auto lease = acquire();
      if (!lease) return lease.error();
      // Writable, not only alive: a server that takes no writes cannot serve a daemon.
      last = (*lease)->check_writable();
      if (last) return {};
      connection_died = !(*lease)->healthy();
    }  // returned: a dead one starts a new generation, so the retry opens a fresh one
    if (!connection_died) break;
  }
  return last;
}

}  // namespace paypipe::pg
