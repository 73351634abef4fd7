#include "order_processor/expiry_sweeper.hpp"

#include <spdlog/spdlog.h>

#include "core/trace.hpp"
#include "order_processor/order_store.hpp"

namespace paypipe::order_processor {

ExpirySweeper::ExpirySweeper(pg::Pool& pool, ExpirySettings settings) : pool_(pool), settings_(settings) {}

ExpirySweeper::~ExpirySweeper() { stop(); }

void ExpirySweeper::start() {
  if (settings_.interval.count() == 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "expiry-sweep");
    run();
  });
}

void ExpirySweeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

core::Result<std::size_t> ExpirySweeper::sweep_now() {
  // One trace per pass: its log lines and the order.cancelled events it emits share it.
  core::TraceScope trace(core::TraceContext::generate());
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  std::size_t total = 0;
  for (;;) {
    const auto now = core::now_ms();
    auto expired = expire_batch(**lease, now - settings_.grace, settings_.batch_size, now);
    if (!expired) return expired.error();
    total += *expired;
    // A short batch means nothing more is due (or the rest is locked by another sweeper).
    if (*expired < settings_.batch_size) break;
    std::lock_guard lock(mutex_);
    if (stopping_) break;
  }
  if (total > 0) spdlog::info("expired {} unpaid orders", total);
  return total;
}

void ExpirySweeper::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, settings_.interval, [this] { return stopping_; })) return;
    }
    auto swept = sweep_now();
    if (!swept)
      spdlog::warn("expiry sweep failed (retried in {} ms): {}", settings_.interval.count(), swept.error().message);
  }
}

}  // namespace paypipe::order_processor
