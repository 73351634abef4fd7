#include "dlq_retrier/metrics.hpp"

#include "core/metrics.hpp"

namespace paypipe::dlq_retrier {

Metrics& Metrics::get() {
  static Metrics metrics = [] {
    auto& r = core::metrics::registry();
    auto& waiting = prometheus::BuildGauge()
                        .Name("dlq_retrier_waiting_partitions")
                        .Help("Dead-letter partitions paused until their next record is due")
                        .Register(r);
    auto& failures = prometheus::BuildCounter()
                         .Name("dlq_retrier_transaction_failures_total")
                         .Help("Kafka transactions or parks rolled back and redone")
                         .Register(r);
    return Metrics{
        prometheus::BuildCounter()
            .Name("dlq_retrier_republished_total")
            .Help("Records sent back to retry.<group>")
            .Register(r),
        prometheus::BuildCounter()
            .Name("dlq_retrier_parked_total")
            .Help("Records parked, by group and reason")
            .Register(r),
        prometheus::BuildCounter()
            .Name("dlq_retrier_replayed_total")
            .Help("Parked records replayed by an operator")
            .Register(r),
        prometheus::BuildGauge()
            .Name("dlq_retrier_parked_records")
            .Help("Rows in the parked store, by group and status")
            .Register(r),
        prometheus::BuildGauge()
            .Name("dlq_retrier_waiting_records")
            .Help("Records in dlq.<group> not handled yet")
            .Register(r),
        waiting.Add({}),
        failures.Add({}),
    };
  }();
  return metrics;
}

}  // namespace paypipe::dlq_retrier
