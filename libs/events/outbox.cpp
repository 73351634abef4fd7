#include "events/outbox.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "events/event_types.hpp"
#include "events/retry.hpp"
#include "events/schemas.hpp"

namespace paypipe::events {

namespace {

struct RelayMetrics {
  prometheus::Counter& published;
  prometheus::Counter& failed;
  prometheus::Counter& set_aside;
  prometheus::Histogram& lag;

  static RelayMetrics& get() {
    auto& r = core::metrics::registry();
    static RelayMetrics m{
        prometheus::BuildCounter()
            .Name("outbox_published_total")
            .Help("Outbox rows published and acknowledged")
            .Register(r)
            .Add({}),
        prometheus::BuildCounter()
            .Name("outbox_publish_failures_total")
            .Help("Outbox rows Kafka did not acknowledge (retried)")
            .Register(r)
            .Add({}),
        prometheus::BuildCounter()
            .Name("outbox_set_aside_total")
            .Help("Outbox rows set aside: Kafka refused them or kept failing them while other rows went through")
            .Register(r)
            .Add({}),
        prometheus::BuildHistogram()
            .Name("outbox_relay_lag_seconds")
            .Help("From the outbox insert to Kafka's acknowledgement")
            .Register(r)
            .Add({}, core::metrics::latency_buckets()),
    };
    return m;
  }
};

// Registered when a relay starts publishing: a service whose relay is off (another
// publisher owns the outbox, and deletes rows on its own schedule) exports no backlog.
struct BacklogMetrics {
  prometheus::Gauge& pending_rows;
  prometheus::Gauge& oldest_age;

  static BacklogMetrics& get() {
    auto& r = core::metrics::registry();
    static BacklogMetrics m{
        prometheus::BuildGauge()
            .Name("outbox_pending_rows")
            .Help("Outbox rows waiting to be published (not set aside), measured in the table")
            .Register(r)
            .Add({}),
        prometheus::BuildGauge()
            .Name("outbox_oldest_age_seconds")
            .Help("Age of the oldest outbox row waiting to be published; 0 when none waits")
            .Register(r)
            .Add({}),
    };
    return m;
  }
};

std::string headers_json(const Event& event) {
  core::json::Writer w;
  w.begin_object().field(header::source, event.source).field(header::time, event.time);
  if (!event.dataschema.empty()) w.field(header::dataschema, event.dataschema);
  if (!event.traceparent.empty()) w.field(header::traceparent, event.traceparent);
  w.end_object();
  return w.take();
}

// Errors no retry will fix: the row is set aside at once.
bool refused_for_good(const core::Error& error) {
  if (error.category == core::ErrorCategory::invalid_input || error.category == core::ErrorCategory::forbidden) {
    return true;
  }
  static const std::set<std::string> codes{"kafka-_UNKNOWN_TOPIC",        "kafka-UNKNOWN_TOPIC_OR_PART",
                                           "kafka-_UNKNOWN_PARTITION",    "kafka-MSG_SIZE_TOO_LARGE",
                                           "kafka-RECORD_LIST_TOO_LARGE", "kafka-INVALID_RECORD",
                                           "kafka-_MSG_SIZE_TOO_LARGE",   "kafka-TOPIC_EXCEPTION"};
  return codes.count(error.code) > 0;
}

std::string string_member(const core::json::Document& doc, const char* name) {
  if (!doc.IsObject()) return {};
  const auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace

core::Result<pg::Connection::Statement> outbox_insert(std::span<const Event> events, std::string_view aggregate_type) {
  std::vector<std::string> ids, keys, types, payloads, headers;
  for (const auto& event : events) {
    const int version = event.dataschema.empty() ? 0 : SchemaRegistry::version_of(event.dataschema);
    if (auto valid = SchemaRegistry::builtin().validate(event.type, event.data, version); !valid) {
      // Our own code built an invalid event: a bug, never the client's fault.
      return core::make_error(core::ErrorCategory::internal, "outbox-schema-invalid", valid.error().message);
    }
    ids.push_back(event.id);
    keys.push_back(event.key);
    types.push_back(event.type);
    payloads.push_back(event.data);
    headers.push_back(headers_json(event));
  }
  return pg::Connection::Statement{
      // The ce_* columns repeat `headers` for Debezium's outbox router, which reads columns only.
      "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, "
      "                    ce_source, ce_time, ce_dataschema, traceparent) "
      "SELECT id, $1, key, type, payload::jsonb, h, h->>'ce_source', h->>'ce_time', h->>'ce_dataschema', "
      "       h->>'traceparent' "
      "FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(id, key, type, payload, headers), "
      "     LATERAL (SELECT e.headers::jsonb AS h) AS parsed",
      {pg::to_param(aggregate_type), pg::to_param(ids), pg::to_param(keys), pg::to_param(types), pg::to_param(payloads),
       pg::to_param(headers)}};
}

core::Status append_to_outbox(pg::Transaction& tx, const Event& event, std::string_view aggregate_type) {
  auto statement = outbox_insert(std::span<const Event>(&event, 1), aggregate_type);
  if (!statement) return statement.error();
  auto rows = tx.connection().exec_params(statement->sql, statement->params);
  if (!rows) return rows.error();
  tx.after_commit(notify_outbox_committed);
  return {};
}

namespace {

// The relays of this process, for notify_outbox_committed().
std::mutex relays_mutex;
std::vector<OutboxRelay*> relays;

}  // namespace

void notify_outbox_committed() {
  std::lock_guard lock(relays_mutex);
  for (auto* relay : relays) relay->wake();
}

void OutboxRelay::wake() {
  woken_locally_ = true;
  const char byte = 'w';
  (void)!::write(wake_write_, &byte, 1);  // a full pipe already wakes the relay
}

OutboxRelay::OutboxRelay(pg::ConnectOptions connect, Producer& producer, RelaySettings settings)
    : connect_(std::move(connect)), producer_(producer), settings_(std::move(settings)) {
  (void)RelayMetrics::get();  // /metrics shows the counters (at 0) before the first row
  channel_ = "outbox_" + settings_.schema;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
    wake_read_ = fds[0];
    wake_write_ = fds[1];
  }
  std::lock_guard lock(relays_mutex);
  relays.push_back(this);
}

OutboxRelay::~OutboxRelay() {
  {
    std::lock_guard lock(relays_mutex);
    relays.erase(std::remove(relays.begin(), relays.end(), this), relays.end());
  }
  stop();
  if (wake_read_ >= 0) ::close(wake_read_);
  if (wake_write_ >= 0) ::close(wake_write_);
}

void OutboxRelay::start() {
  running_ = true;
  beat();
  if (!settings_.enabled) {
    spdlog::info("outbox relay of schema {} is off: another publisher owns the outbox", settings_.schema);
    return;
  }
  thread_ = std::thread([this] { run(); });
  (void)BacklogMetrics::get();
  backlog_thread_ = std::thread([this] { measure_backlog_until_stopped(); });
}

void OutboxRelay::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (backlog_thread_.joinable()) backlog_thread_.join();
  running_ = false;
}

core::Result<std::size_t> OutboxRelay::publish_once(pg::Connection& connection) {
  auto tx = pg::Transaction::begin(connection);
  if (!tx) return tx.error();
  auto locked = tx->exec("SELECT pg_try_advisory_xact_lock(hashtext($1))", "paypipe.outbox." + settings_.schema);
  if (!locked) return locked.error();
  if (!locked->boolean(0, 0)) {
    // Another replica's relay publishes. If our own writers woke us, pass it on.
    (void)tx->rollback();
    if (woken_locally_.exchange(false)) (void)connection.exec("SELECT pg_notify($1, '')", channel_);
    return std::size_t{0};
  }
  woken_locally_ = false;
  auto rows = tx->exec(
      "SELECT id::text, aggregateid, type, payload::text, headers::text, "
      "(extract(epoch FROM created_at) * 1000)::bigint, attempts "
      "FROM outbox WHERE set_aside_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
      static_cast<std::int64_t>(settings_.batch_size));
  if (!rows) return rows.error();
  if (rows->empty()) return std::size_t{0};

  // Acknowledgements arrive on the producer's thread; outcome[i] is row i's.
  struct Acks {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t pending = 0;
    std::vector<std::optional<core::Status>> outcome;
  };
  auto acks = std::make_shared<Acks>();
  auto& metrics = RelayMetrics::get();
  const int count = rows->size();
  acks->outcome.resize(static_cast<std::size_t>(count));
  std::vector<int> sent;             // row indexes, in seq order
  std::set<std::string> held;        // aggregates whose later rows wait this pass
  for (int i = 0; i < count; ++i) {
    const std::string aggregate = rows->str(i, 1);
    if (held.count(aggregate)) continue;
    // A row that failed before is retried alone for its aggregate: the later ones wait
    // for its outcome instead of overtaking it.
    if (rows->integer(i, 6) > 0) held.insert(aggregate);
    Event event;
    event.id = rows->str(i, 0);
    event.key = aggregate;
    event.type = rows->str(i, 2);
    event.data = rows->str(i, 3);
    if (auto headers = core::json::parse(rows->text(i, 4))) {
      event.source = string_member(*headers, header::source);
      event.time = string_member(*headers, header::time);
      event.dataschema = string_member(*headers, header::dataschema);
      event.traceparent = string_member(*headers, header::traceparent);
    }
    const std::int64_t created_ms = rows->integer(i, 5);
    {
      std::lock_guard lock(acks->mutex);
      ++acks->pending;
    }
    auto status = producer_.send(
        OutgoingRecord{producer_.options().topic(topic_of(event.type)), event.key, event.data,
                       to_headers(event, producer_.options().interop)},
        [acks, i, id = event.id, created_ms, &metrics](const Delivery& delivery) {
          std::lock_guard lock(acks->mutex);
          acks->outcome[static_cast<std::size_t>(i)] = delivery.status;
          if (delivery.status) {
            metrics.lag.Observe(static_cast<double>(core::to_unix_ms(core::now_ms()) - created_ms) / 1000.0);
          } else {
            metrics.failed.Increment();
            core::log::warn({{core::log::key::event_id, id}}, "outbox: event not acknowledged: {}",
                            delivery.status.error().message);
          }
          if (--acks->pending == 0) acks->done.notify_all();
        });
    if (!status) {
      std::lock_guard lock(acks->mutex);
      --acks->pending;
      core::log::warn({{core::log::key::event_id, event.id}, {core::log::key::event_type, event.type}},
                      "outbox: cannot queue event: {}", status.error().message);
      if (status.error().category == core::ErrorCategory::unavailable) break;  // queue full: the rest next pass
      // Refused before it left (e.g. too large): this row's failure, not the relay's.
      acks->outcome[static_cast<std::size_t>(i)] = status;
      held.insert(aggregate);
    }
    sent.push_back(i);
  }
  {
    std::unique_lock lock(acks->mutex);
    acks->done.wait_for(lock, settings_.ack_timeout, [&] { return acks->pending == 0; });
  }

  // In seq order: an acknowledged row is deleted unless an earlier row of its aggregate
  // failed in this pass (it is published again after that one: consumers deduplicate by
  // event id); a failed row counts an attempt, and is set aside when it is refused for
  // good or keeps failing while other rows go through.
  std::vector<std::string> acked, failed_ids, failed_reasons;
  std::vector<std::int64_t> failed_attempts;
  std::vector<bool> failed_permanent;
  std::set<std::string> blocked;
  {
    std::lock_guard lock(acks->mutex);
    for (const int i : sent) {
      const std::string aggregate = rows->str(i, 1);
      const auto& outcome = acks->outcome[static_cast<std::size_t>(i)];
      if (outcome && outcome->ok()) {
        if (!blocked.count(aggregate)) acked.push_back(rows->str(i, 0));
        continue;
      }
      blocked.insert(aggregate);
      failed_ids.push_back(rows->str(i, 0));
      failed_attempts.push_back(rows->integer(i, 6) + 1);
      if (outcome) {
        failed_reasons.push_back(outcome->error().code + ": " + outcome->error().message);
        failed_permanent.push_back(refused_for_good(outcome->error()));
      } else {
        failed_reasons.push_back("no acknowledgement from Kafka within " +
                                 std::to_string(settings_.ack_timeout.count()) + " ms");
        failed_permanent.push_back(false);
      }
    }
  }
  if (acked.empty() && failed_ids.empty()) return std::size_t{0};
  if (!acked.empty()) {
    auto deleted = tx->exec("DELETE FROM outbox WHERE id = ANY($1::uuid[])", acked);
    if (!deleted) return deleted.error();
  }
  std::vector<std::string> aside;
  if (!failed_ids.empty()) {
    // Kafka took other rows of this pass: what it did not take is the row's problem.
    const bool kafka_works = !acked.empty();
    std::vector<std::string> attempts, flags;
    for (std::size_t f = 0; f < failed_ids.size(); ++f) {
      const bool set_aside = failed_permanent[f] || (kafka_works && failed_attempts[f] >= settings_.set_aside_after);
      attempts.push_back(std::to_string(failed_attempts[f]));
      flags.push_back(set_aside ? "true" : "false");
      if (set_aside) aside.push_back(failed_ids[f]);
    }
    auto updated = tx->exec(
        "UPDATE outbox o SET attempts = v.attempts, last_error = v.reason, "
        "set_aside_at = CASE WHEN v.aside THEN clock_timestamp() END "
        "FROM unnest($1::uuid[], $2::int[], $3::text[], $4::boolean[]) AS v(id, attempts, reason, aside) "
        "WHERE o.id = v.id",
        failed_ids, attempts, failed_reasons, flags);
    if (!updated) return updated.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  metrics.published.Increment(static_cast<double>(acked.size()));
  if (!aside.empty()) {
    metrics.set_aside.Increment(static_cast<double>(aside.size()));
    for (std::size_t f = 0; f < failed_ids.size(); ++f) {
      if (std::find(aside.begin(), aside.end(), failed_ids[f]) != aside.end()) {
        core::log::error({{core::log::key::event_id, failed_ids[f]}}, "outbox: event set aside after {} attempt(s): {}",
                         failed_attempts[f], failed_reasons[f]);
      }
    }
  }
  return acked.size();
}

core::Result<std::vector<SetAsideRow>> list_set_aside(pg::Connection& connection, std::size_t limit) {
  auto rows = connection.exec("SELECT id::text, type, aggregateid, attempts, coalesce(last_error, ''), " +
                                  pg::rfc3339_sql("set_aside_at") +
                                  " FROM outbox WHERE set_aside_at IS NOT NULL ORDER BY seq LIMIT $1",
                              static_cast<std::int64_t>(limit));
  if (!rows) return rows.error();
  std::vector<SetAsideRow> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(SetAsideRow{rows->str(i, 0), rows->str(i, 1), rows->str(i, 2), rows->integer(i, 3), rows->str(i, 4),
                              rows->str(i, 5)});
  }
  return out;
}

core::Result<std::int64_t> requeue_set_aside(pg::Connection& connection, const std::vector<std::string>& ids) {
  auto rows = ids.empty() ? connection.exec(
                                "UPDATE outbox SET set_aside_at = NULL, attempts = 0 WHERE set_aside_at IS NOT NULL")
                          : connection.exec(
                                "UPDATE outbox SET set_aside_at = NULL, attempts = 0 "
                                "WHERE set_aside_at IS NOT NULL AND id = ANY($1::uuid[])",
                                ids);
  if (!rows) return rows.error();
  if (rows->affected() > 0) notify_outbox_committed();
  return rows->affected();
}

core::Result<OutboxBacklog> measure_backlog(pg::Connection& connection, std::int64_t exact_up_to) {
  // Both walk outbox_pending_idx: the count stops at the bound, the age reads one entry.
  auto rows = connection.exec(
      "SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE set_aside_at IS NULL LIMIT $1) AS bounded), "
      "       (SELECT reltuples::bigint FROM pg_class WHERE oid = 'outbox'::regclass), "
      "       coalesce((extract(epoch FROM clock_timestamp() - "
      "                 (SELECT created_at FROM outbox WHERE set_aside_at IS NULL ORDER BY seq LIMIT 1)) "
      "                 * 1000)::bigint, 0)",
      exact_up_to);
  if (!rows) return rows.error();
  OutboxBacklog backlog;
  backlog.pending_rows = rows->integer(0, 0);
  if (backlog.pending_rows >= exact_up_to) backlog.pending_rows = std::max(backlog.pending_rows, rows->integer(0, 1));
  backlog.oldest_age_seconds = static_cast<double>(std::max<std::int64_t>(0, rows->integer(0, 2))) / 1000.0;
  return backlog;
}

void OutboxRelay::measure_backlog_until_stopped() {
  pthread_setname_np(pthread_self(), "outbox-backlog");
  auto& metrics = BacklogMetrics::get();
  std::optional<pg::Connection> connection;
  while (!stop_) {
    if (!connection || !connection->healthy()) {
      connection.reset();
      // PostgreSQL away: the gauges keep their last values; the relay's own checks report it.
      if (auto opened = pg::Connection::connect(connect_)) connection.emplace(std::move(opened).value());
    }
    if (connection) {
      if (auto backlog = measure_backlog(*connection)) {
        metrics.pending_rows.Set(static_cast<double>(backlog->pending_rows));
        metrics.oldest_age.Set(backlog->oldest_age_seconds);
      } else {
        spdlog::warn("outbox: cannot measure the backlog: {}", backlog.error().message);
      }
    }
    steady_retry_clock().sleep(settings_.backlog_interval, stop_);
  }
}

bool OutboxRelay::drain_wake_pipe() {
  char buffer[64];
  bool woken = false;
  while (::read(wake_read_, buffer, sizeof buffer) > 0) woken = true;
  return woken;
}

void OutboxRelay::run() {
  pthread_setname_np(pthread_self(), "outbox-relay");
  // Whatever ends the loop (stop, or an exception escaping it), the health checks see it.
  struct Ended {
    std::atomic<bool>& running;
    ~Ended() { running = false; }
  } ended{running_};
  try {
    loop();
  } catch (const std::exception& e) {
    spdlog::critical("outbox relay died: {}", e.what());
  }
}

void OutboxRelay::beat() { heartbeat_ = std::chrono::steady_clock::now().time_since_epoch().count(); }

void OutboxRelay::loop() {
  std::optional<pg::Connection> connection;
  // PostgreSQL away: reconnect for as long as it lasts, 100 ms x2 capped at 5 s.
  static const RetryPolicy reconnect{0, std::chrono::milliseconds(100), 2.0, std::chrono::milliseconds(5000)};
  while (!stop_) {
    beat();
    if (!connection || !connection->healthy()) {
      connection.reset();
      auto fresh = retry(
          reconnect, stop_,
          [&]() -> Attempt<pg::Connection> {
            beat();
            auto opened = pg::Connection::connect(connect_);
            if (!opened) return Attempt<pg::Connection>::again(opened.error());
            // The relay's deletes need no flush of their own: one lost in a crash only
            // republishes rows that consumers deduplicate, and the writers' commits (whose
            // fsync carries these records too) no longer queue behind a second fsync per pass.
            if (!opened->listen(channel_) || !opened->exec("SET synchronous_commit = off")) {
              return Attempt<pg::Connection>::again(
                  core::make_error(core::ErrorCategory::unavailable, "outbox-listen", "LISTEN or SET failed"));
            }
            return std::move(opened).value();
          },
          [](const RetryEvent& e) { spdlog::warn("outbox relay: cannot connect to PostgreSQL: {}", e.error.message); });
      if (!fresh) continue;  // stopping
      connection.emplace(std::move(fresh).value());
    }
    auto published = publish_once(*connection);
    if (!published) {
      spdlog::warn("outbox relay: {}", published.error().message);
      steady_retry_clock().sleep(std::chrono::milliseconds(200), stop_);
      continue;
    }
    if (*published == settings_.batch_size) continue;  // more rows are waiting
    // Wait for a local wake-up or a NOTIFY, in short slices so stop() is prompt.
    const auto until = std::chrono::steady_clock::now() + settings_.poll_interval;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      beat();
      auto notified = connection->wait_for_notification(std::chrono::milliseconds(100), wake_read_);
      if (!notified || *notified) break;
      if (drain_wake_pipe()) break;
    }
  }
}

}  // namespace paypipe::events
