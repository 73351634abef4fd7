#pragma once
// dlq-retrier's metrics (GET /metrics), registered once on the process registry:
//
//   dlq_retrier_republished_total{group}          records sent back to retry.<group> (operators' retries now included)
//   dlq_retrier_parked_total{group,reason}        records parked (FATAL, EXHAUSTED, FOREIGN; SKIPPED by an operator)
//   dlq_retrier_replayed_total{group}             parked records replayed by an operator
//   dlq_retrier_parked_records{group,status}      rows in the parked store (refreshed every few seconds)
//   dlq_retrier_waiting_records{group}            records in dlq.<group> not handled yet (lag)
//   dlq_retrier_waiting_partitions                dlq partitions paused until their next record is due
//   dlq_retrier_transaction_failures_total        Kafka transactions or parks rolled back (redone)

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

namespace paypipe::dlq_retrier {

struct Metrics {
  prometheus::Family<prometheus::Counter>& republished;
  prometheus::Family<prometheus::Counter>& parked;
  prometheus::Family<prometheus::Counter>& replayed;
  prometheus::Family<prometheus::Gauge>& parked_records;
  prometheus::Family<prometheus::Gauge>& waiting_records;
  prometheus::Gauge& waiting_partitions;
  prometheus::Counter& transaction_failures;

  static Metrics& get();
};

}  // namespace paypipe::dlq_retrier
