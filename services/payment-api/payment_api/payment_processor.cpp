#include "payment_api/payment_processor.hpp"

#include <spdlog/spdlog.h>

#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "events/outbox.hpp"
#include "payment_api/payment_store.hpp"

namespace paypipe::payment_api {

namespace {

using Statements = std::vector<pg::Connection::Statement>;

struct ProcessorMetrics {
  prometheus::Histogram& batch_size;
  prometheus::Counter& replays;

  static ProcessorMetrics& get() {
    auto& r = core::metrics::registry();
    static ProcessorMetrics m{
        prometheus::BuildHistogram().Name("payment_batch_size").Help("Payment requests per transaction").Register(r).Add(
            {}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256}),
        prometheus::BuildCounter().Name("payment_batch_replays_total").Help("Batches replayed with a savepoint per request").Register(r).Add({}),
    };
    return m;
  }
};

std::optional<events::Event> announcement(const Decision& d, const std::string& source, const core::TraceContext& trace) {
  if (d.verdict != Verdict::charge && d.verdict != Verdict::insufficient_funds) return std::nullopt;
  core::TraceScope scope(trace);
  const auto& p = *d.previous;
  if (d.verdict == Verdict::charge) {
    return events::make_event("payment.completed", source, p.order_id,
                              contracts::encode(contracts::PaymentCompleted{p.id, p.order_id, p.user_id, p.amount,
                                                                            p.currency, p.created_at}));
  }
  return events::make_event("payment.failed", source, p.order_id,
                            contracts::encode(contracts::PaymentFailed{p.id, p.order_id, p.user_id, p.amount, p.currency,
                                                                       "INSUFFICIENT_FUNDS", p.created_at}));
}

core::Status first_error(const std::vector<core::Result<pg::Rows>>& results) {
  for (const auto& r : results) {
    if (!r && r.error().code != "pg-pipeline-aborted") return r.error();
  }
  for (const auto& r : results) {
    if (!r) return r.error();
  }
  return {};
}

// Reads, decides and writes `requests` between `open` and `close` (BEGIN/COMMIT, or
// SAVEPOINT/RELEASE): two pipelined round trips.
core::Result<std::vector<Decision>> run(pg::Connection& connection, std::span<const PaymentRequest> requests,
                                        std::span<const core::TraceContext> traces, const std::string& source,
                                        const std::string& currency,
                                        const pg::Connection::Statement& open, const pg::Connection::Statement& close) {
  Statements reads{open};
  for (auto& s : read_statements(requests)) reads.push_back(std::move(s));
  auto read = connection.exec_pipeline(reads);
  if (!read) return read.error();
  if (auto s = first_error(*read); !s) return s.error();
  LedgerView view;
  view.currency = currency;
  if (auto s = fill_view(std::span(*read).subspan(1), view); !s) return s.error();

  const auto now = core::now_ms();
  const auto now_text = core::format_rfc3339(now);
  std::vector<Decided> decided;
  decided.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    StoredPayment fresh;
    fresh.id = core::new_uuid_v7();
    fresh.created_at = now_text;
    auto decision = decide(requests[i], view, now, fresh);
    auto event = announcement(decision, source, traces[i]);
    decided.push_back(Decided{std::move(decision), std::move(event)});
  }
  auto writes = write_statements(decided, view);
  if (!writes) return writes.error();
  writes->push_back(close);
  auto written = connection.exec_pipeline(*writes);
  if (!written) return written.error();
  if (auto s = first_error(*written); !s) return s.error();

  std::vector<Decision> decisions;
  decisions.reserve(decided.size());
  for (auto& d : decided) decisions.push_back(std::move(d.decision));
  return decisions;
}

void roll_back(pg::Connection& connection) {
  if (PQtransactionStatus(connection.native()) != PQTRANS_IDLE) (void)connection.exec("ROLLBACK");
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

  static const pg::Connection::Statement begin{"BEGIN", {}}, commit{"COMMIT", {}};
  auto fast = run(connection, requests, traces, source_, currency_, begin, commit);
  if (fast) {
    events::notify_outbox_committed();
    return std::vector<core::Result<Decision>>(fast->begin(), fast->end());
  }
  roll_back(connection);
  if (requests.size() == 1 || fast.error().category == core::ErrorCategory::unavailable) {
    return std::vector<core::Result<Decision>>(requests.size(), fast.error());
  }

  // Replay with a savepoint per request.
  ProcessorMetrics::get().replays.Increment();
  spdlog::info("payment batch of {} replayed request by request: {}", requests.size(), fast.error().message);
  std::vector<core::Result<Decision>> results;
  results.reserve(requests.size());
  if (auto b = connection.exec("BEGIN"); !b) return std::vector<core::Result<Decision>>(requests.size(), b.error());
  static const pg::Connection::Statement savepoint{"SAVEPOINT request", {}}, release{"RELEASE SAVEPOINT request", {}};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto one = run(connection, requests.subspan(i, 1), traces.subspan(i, 1), source_, currency_, savepoint, release);
    if (one) {
      results.emplace_back(std::move(one->front()));
      continue;
    }
    results.emplace_back(one.error());
    if (auto r = connection.exec("ROLLBACK TO SAVEPOINT request"); !r) {
      roll_back(connection);
      return std::vector<core::Result<Decision>>(requests.size(), r.error());
    }
  }
  if (auto c = connection.exec("COMMIT"); !c || c->command() == "ROLLBACK") {
    roll_back(connection);
    const auto error = c ? core::make_error(core::ErrorCategory::unavailable, "commit-failed", "the commit failed")
                         : c.error();
    return std::vector<core::Result<Decision>>(requests.size(), error);
  }
  events::notify_outbox_committed();
  return results;
}

}  // namespace paypipe::payment_api
