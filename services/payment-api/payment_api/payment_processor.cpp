#include "payment_api/payment_processor.hpp"

#include <spdlog/spdlog.h>

#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "payment_api/payment_events.hpp"
#include "payment_api/payment_store.hpp"

namespace paypipe::payment_api {

namespace {

struct ProcessorMetrics {
  prometheus::Histogram& batch_size;
  prometheus::Counter& replays;

  static ProcessorMetrics& get() {
    auto& r = core::metrics::registry();
    static ProcessorMetrics m{
        prometheus::BuildHistogram()
            .Name("payment_batch_size")
            .Help("Payment requests per transaction")
            .Register(r)
            .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        prometheus::BuildCounter()
            .Name("payment_batch_replays_total")
            .Help("Batches replayed with a savepoint per request")
            .Register(r)
            .Add({}),
    };
    return m;
  }
};

// Reads and decides `requests`, then queues their writes in `pipeline`: the reads are
// one round trip (with whatever `pipeline` had queued: BEGIN, a savepoint); the writes
// go with what the caller sends next (COMMIT, or RELEASE).
core::Result<std::vector<Decision>> read_decide_queue(pg::Pipeline& pipeline, std::span<const PaymentRequest> requests,
                                                      std::span<const core::TraceContext> traces,
                                                      const std::string& source, const std::string& currency) {
  const auto reads = queue_reads(pipeline, requests);
  if (auto s = pipeline.flush(); !s) return s.error();
  LedgerView view;
  view.currency = currency;
  fill_view(pipeline, reads, view);

  const auto now = core::now_ms();
  const auto now_text = core::format_rfc3339(now);
  std::vector<Decided> decided;
  decided.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    StoredPayment fresh;
    fresh.id = core::new_uuid_v7();
    fresh.created_at = now_text;
    auto decision = decide(requests[i], view, now, fresh);
    auto event = payment_event(decision, source, traces[i]);
    decided.push_back(Decided{std::move(decision), std::move(event)});
  }
  if (auto s = queue_writes(pipeline, decided, view); !s) return s.error();

  std::vector<Decision> decisions;
  decisions.reserve(decided.size());
  for (auto& d : decided) decisions.push_back(std::move(d.decision));
  return decisions;
}

}  // namespace

PaymentProcessor::PaymentProcessor(pg::Pool& pool, std::string source, std::string currency)
    : pool_(pool), source_(std::move(source)), currency_(std::move(currency)) {}

std::vector<core::Result<Decision>> PaymentProcessor::process(std::span<const PaymentRequest> requests,
                                                              std::span<const core::TraceContext> traces) {
  ProcessorMetrics::get().batch_size.Observe(static_cast<double>(requests.size()));
  auto lease = pool_.acquire();
  if (!lease) return std::vector<core::Result<Decision>>(requests.size(), lease.error());
  auto& connection = **lease;

  core::Error failure;
  {
    auto pipeline = pg::Pipeline::begin(connection);
    auto fast = read_decide_queue(pipeline, requests, traces, source_, currency_);
    if (fast) {
      auto committed = pipeline.commit();
      if (committed) return std::vector<core::Result<Decision>>(fast->begin(), fast->end());
      failure = committed.error();
    } else {
      failure = fast.error();
    }
  }  // rolled back
  if (requests.size() == 1 || failure.category == core::ErrorCategory::unavailable) {
    return std::vector<core::Result<Decision>>(requests.size(), failure);
  }

  // Replay with a savepoint per request.
  ProcessorMetrics::get().replays.Increment();
  spdlog::info("payment batch of {} replayed request by request: {}", requests.size(), failure.message);
  std::vector<core::Result<Decision>> results;
  results.reserve(requests.size());
  auto pipeline = pg::Pipeline::begin(connection);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    pipeline.savepoint("request");
    auto one = read_decide_queue(pipeline, requests.subspan(i, 1), traces.subspan(i, 1), source_, currency_);
    if (one) {
      pipeline.release("request");
      if (auto written = pipeline.flush(); !written) one = written.error();
    }
    if (one) {
      results.emplace_back(std::move(one->front()));
      continue;
    }
    results.emplace_back(one.error());
    if (auto undone = pipeline.rollback_to("request"); !undone) {
      return std::vector<core::Result<Decision>>(requests.size(), undone.error());
    }
  }
  if (auto committed = pipeline.commit(); !committed) {
    return std::vector<core::Result<Decision>>(requests.size(), committed.error());
  }
  return results;
}

}  // namespace paypipe::payment_api
