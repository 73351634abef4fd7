#include "dlq_retrier/parked_gauge.hpp"

#include <spdlog/spdlog.h>

#include "dlq_retrier/metrics.hpp"
#include "dlq_retrier/parked_store.hpp"

namespace paypipe::dlq_retrier {

ParkedGauge::ParkedGauge(pg::Pool& pool, std::chrono::milliseconds period)
    : pool_(pool), counting_("parked-gauge", period, [this] { refresh(); }) {}

void ParkedGauge::refresh() {
  auto lease = pool_.acquire();
  if (!lease) return;  // /readyz reports the database; the gauge keeps its last values
  auto counts = count_parked(**lease);
  if (!counts) {
    spdlog::warn("cannot count parked records: {}", counts.error().message);
    return;
  }
  auto& family = Metrics::get().parked_records;
  for (const auto& key : seen_) {
    if (!counts->count(key)) family.Add({{"group", key.first}, {"status", key.second}}).Set(0);
  }
  for (const auto& [key, count] : *counts) {
    family.Add({{"group", key.first}, {"status", key.second}}).Set(static_cast<double>(count));
    seen_.insert(key);
  }
}

}  // namespace paypipe::dlq_retrier
