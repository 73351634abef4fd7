#include "coupon_issuer/coupon_decider.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <set>

#include "contracts/coupon_requested.hpp"
#include "core/metrics.hpp"
#include "core/trace.hpp"
#include "core/uuid.hpp"
#include "coupon_issuer/coupon_events.hpp"
#include "coupon_issuer/coupon_rules.hpp"
#include "events/decoded_batch.hpp"
#include "events/dispatch.hpp"
#include "events/outbox.hpp"

namespace paypipe::coupon_issuer {

namespace {

constexpr std::string_view consumer_name = "coupon-issuer";

struct DeciderMetrics {
  prometheus::Family<prometheus::Counter>& decisions;
  prometheus::Histogram& batch_size;
  prometheus::Counter& replays;

  static DeciderMetrics& get() {
    auto& r = core::metrics::registry();
    static DeciderMetrics m{
        prometheus::BuildCounter()
            .Name("coupon_decisions_total")
            .Help("Coupon requests decided, by outcome")
            .Register(r),
        prometheus::BuildHistogram()
            .Name("coupon_decision_batch_size")
            .Help("Fresh requests decided per transaction")
            .Register(r)
            .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 50, 100, 250, 500, 1000, 2000, 5000}),
        prometheus::BuildCounter()
            .Name("coupon_decision_replays_total")
            .Help("Batches replayed with a savepoint per event")
            .Register(r)
            .Add({}),
    };
    return m;
  }
};

// A decodable coupon.requested and what it needs downstream.
struct Incoming {
  std::string event_id;  // lower case, as processed_events stores it
  CouponRequest request;
  std::string requested_at_text;
  std::string traceparent;
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

core::Result<Incoming> decode(const events::ConsumedEvent& consumed) {
  return events::dispatch<contracts::CouponRequested>(
      consumed.event, consumer_name, [&](const contracts::CouponRequested& data) -> core::Result<Incoming> {
        const auto at = core::parse_rfc3339(data.requested_at);
        if (!at) {
          return core::make_error(core::ErrorCategory::invalid_input, "bad-requested-at",
                                  "requestedAt is not an RFC 3339 time: " + data.requested_at);
        }
        return Incoming{lower(consumed.event.id),
                        CouponRequest{lower(data.request_id), lower(data.coupon_id), data.user_id, *at},
                        data.requested_at, consumed.event.traceparent};
      });
}

core::Status ok_or(const core::Result<pg::Rows>& rows) {
  if (!rows) return rows.error();
  return {};
}

// Steps 1 and 2 of the header: the fresh requests, in order, and the book they are
// decided against.
core::Result<std::vector<const Incoming*>> fresh_requests(pg::Transaction& tx, std::span<const Incoming> batch) {
  std::vector<std::string> event_ids;
  event_ids.reserve(batch.size());
  for (const auto& in : batch) event_ids.push_back(in.event_id);
  auto fresh = events::mark_processed(tx, consumer_name, event_ids);
  if (!fresh) return fresh.error();
  std::vector<const Incoming*> todo;
  std::set<std::string> seen_events, seen_requests;
  for (const auto& in : batch) {
    // Seen in an earlier batch, or earlier in this one (same event or same request).
    if (!fresh->count(in.event_id) || !seen_events.insert(in.event_id).second) continue;
    if (!seen_requests.insert(in.request.request_id).second) continue;
    todo.push_back(&in);
  }
  if (todo.empty()) return todo;
  // A request decided before under another event id (republished by hand) keeps its decision.
  std::vector<std::string> request_ids;
  for (const auto* in : todo) request_ids.push_back(in->request.request_id);
  auto decided = tx.exec(
      "SELECT request_id::text FROM coupon_requests WHERE request_id = ANY($1::uuid[]) AND status <> 'PENDING'",
      request_ids);
  if (!decided) return decided.error();
  if (decided->empty()) return todo;
  std::set<std::string> done;
  for (int i = 0; i < decided->size(); ++i) done.insert(decided->str(i, 0));
  std::erase_if(todo, [&](const Incoming* in) { return done.count(in->request.request_id) > 0; });
  return todo;
}

core::Result<CouponBook> read_book(pg::Transaction& tx, std::span<const Incoming* const> todo) {
  std::set<std::string> coupon_set;
  std::vector<std::string> pair_coupons, pair_users;
  for (const auto* in : todo) {
    coupon_set.insert(in->request.coupon_id);
    pair_coupons.push_back(in->request.coupon_id);
    pair_users.push_back(in->request.user_id);
  }
  const std::vector<std::string> coupon_ids(coupon_set.begin(), coupon_set.end());
  // In id order, so two deciders (a rebalance in progress) never deadlock.
  static const std::string coupons_sql =
      "SELECT id::text, name, discount, remaining_stock, (extract(epoch FROM valid_from) * 1000)::bigint, "
      "(extract(epoch FROM valid_until) * 1000)::bigint, " +
      pg::rfc3339_sql("valid_until") + " FROM coupons WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE";
  auto coupons = tx.exec(coupons_sql, coupon_ids);
  if (!coupons) return coupons.error();
  CouponBook book;
  for (int i = 0; i < coupons->size(); ++i) {
    CouponState state;
    state.coupon_id = coupons->str(i, 0);
    state.name = coupons->str(i, 1);
    state.discount = coupons->integer(i, 2);
    state.remaining_stock = coupons->integer(i, 3);
    state.valid_from = core::from_unix_ms(coupons->integer(i, 4));
    state.valid_until = core::from_unix_ms(coupons->integer(i, 5));
    state.valid_until_text = coupons->str(i, 6);
    book.coupons.emplace(state.coupon_id, std::move(state));
  }
  if (book.coupons.empty()) return book;
  auto holders = tx.exec(
      "SELECT i.coupon_id::text, i.user_id FROM issued_coupons i "
      "JOIN unnest($1::uuid[], $2::text[]) AS q(coupon_id, user_id) "
      "ON i.coupon_id = q.coupon_id AND i.user_id = q.user_id",
      pair_coupons, pair_users);
  if (!holders) return holders.error();
  for (int i = 0; i < holders->size(); ++i) {
    const auto it = book.coupons.find(holders->str(i, 0));
    if (it != book.coupons.end()) it->second.holders.insert(holders->str(i, 1));
  }
  return book;
}

struct Decided {
  const Incoming* incoming;
  Verdict verdict;
  std::string issued_coupon_id;  // issued only
};

// Step 4: every write of the decided batch, set-based.
core::Status write(pg::Transaction& tx, std::span<const Decided> decided, const CouponBook& book,
                   const std::string& source, const std::string& now) {
  std::vector<std::string> i_id, i_coupon, i_user, i_request;
  std::vector<std::string> r_id, r_coupon, r_user, r_status, r_reason, r_issued, r_at;
  std::set<std::string> touched;
  std::vector<events::Event> announcements;
  announcements.reserve(decided.size());
  for (const auto& d : decided) {
    const auto& q = d.incoming->request;
    const bool issued = d.verdict == Verdict::issued;
    r_id.push_back(q.request_id);
    r_coupon.push_back(q.coupon_id);
    r_user.push_back(q.user_id);
    r_status.push_back(issued ? "ISSUED" : "REJECTED");
    r_reason.push_back(reason_of(d.verdict));
    r_issued.push_back(d.issued_coupon_id);
    r_at.push_back(d.incoming->requested_at_text);

    // Each outcome continues the trace of the HTTP request that asked for it.
    const auto parent = core::TraceContext::parse(d.incoming->traceparent);
    core::TraceScope scope(parent ? parent->child() : core::TraceContext::generate());
    announcements.push_back(outcome_event(q, d.verdict, d.issued_coupon_id, book, source, now));
    if (issued) {
      i_id.push_back(d.issued_coupon_id);
      i_coupon.push_back(q.coupon_id);
      i_user.push_back(q.user_id);
      i_request.push_back(q.request_id);
      touched.insert(q.coupon_id);
    }
  }
  if (!i_id.empty()) {
    if (auto s = ok_or(tx.exec("INSERT INTO issued_coupons (id, coupon_id, user_id, request_id, issued_at) "
                               "SELECT id, coupon_id, user_id, request_id, $5::timestamptz "
                               "FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[]) "
                               "AS i(id, coupon_id, user_id, request_id)",
                               i_id, i_coupon, i_user, i_request, now));
        !s) {
      return s;
    }
    std::vector<std::string> c_id, c_remaining;
    for (const auto& id : touched) {
      c_id.push_back(id);
      c_remaining.push_back(std::to_string(book.coupons.at(id).remaining_stock));
    }
    if (auto s = ok_or(tx.exec("UPDATE coupons c SET remaining_stock = v.remaining "
                               "FROM unnest($1::uuid[], $2::bigint[]) AS v(id, remaining) WHERE c.id = v.id",
                               c_id, c_remaining));
        !s) {
      return s;
    }
  }
  // A PENDING row (written by the HTTP side after Kafka's ack) gives way to the
  // decision; a decision is never replaced.
  if (auto s = ok_or(tx.exec(
          "INSERT INTO coupon_requests (request_id, coupon_id, user_id, status, reason, issued_coupon_id, "
          "requested_at, decided_at) "
          "SELECT id, coupon_id, user_id, status, NULLIF(reason, ''), NULLIF(issued, '')::uuid, at, $8::timestamptz "
          "FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) "
          "AS r(id, coupon_id, user_id, status, reason, issued, at) "
          "ON CONFLICT (request_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, "
          "issued_coupon_id = EXCLUDED.issued_coupon_id, decided_at = EXCLUDED.decided_at "
          "WHERE coupon_requests.status = 'PENDING'",
          r_id, r_coupon, r_user, r_status, r_reason, r_issued, r_at, now));
      !s) {
    return s;
  }
  auto outbox = events::OutboxInsert::prepare(std::move(announcements), "coupon");
  if (!outbox) return outbox.error();
  return std::move(outbox).value().run(tx);
}

// The whole batch (or one event of a replay) inside `tx`.
core::Status apply(pg::Transaction& tx, std::span<const Incoming> batch, const std::string& source) {
  auto todo = fresh_requests(tx, batch);
  if (!todo) return todo.error();
  if (todo->empty()) return {};
  auto book = read_book(tx, *todo);
  if (!book) return book.error();
  const auto now = core::now_rfc3339();
  std::vector<Decided> decided;
  decided.reserve(todo->size());
  for (const auto* in : *todo) {
    const auto verdict = decide(in->request, *book);
    decided.push_back(Decided{in, verdict, verdict == Verdict::issued ? core::new_uuid_v7() : std::string()});
  }
  if (auto s = write(tx, decided, *book, source, now); !s) return s;
  auto& metrics = DeciderMetrics::get();
  metrics.batch_size.Observe(static_cast<double>(decided.size()));
  // Counted once the batch commits (the hook does not run after a rollback).
  std::map<Verdict, double> counts;
  for (const auto& d : decided) counts[d.verdict] += 1;
  tx.after_commit([counts = std::move(counts)] {
    for (const auto& [verdict, n] : counts) {
      const auto reason = reason_of(verdict);
      DeciderMetrics::get().decisions.Add({{"outcome", reason.empty() ? "ISSUED" : reason}}).Increment(n);
    }
  });
  return {};
}

void count_replay(const core::Error& error, std::size_t batch_size) {
  DeciderMetrics::get().replays.Increment();
  spdlog::warn("coupon batch of {} replayed event by event: {}", batch_size, error.message);
}

}  // namespace

CouponDecider::CouponDecider(pg::Pool& pool, std::string source) : pool_(pool), source_(std::move(source)) {}

events::BatchHandler CouponDecider::handler() {
  return [this](std::span<const events::ConsumedEvent> events) { return handle(events); };
}

std::vector<events::Outcome> CouponDecider::handle(std::span<const events::ConsumedEvent> events) {
  return events::apply_decoded_batch<Incoming>(
      pool_, events,
      {decode, [this](pg::Transaction& tx, std::span<const Incoming> batch) { return apply(tx, batch, source_); },
       count_replay, std::string(consumer_name)});
}

}  // namespace paypipe::coupon_issuer
