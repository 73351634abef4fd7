#include "events/outbox.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "events/schemas.hpp"

namespace paypipe::events {

namespace {

struct RelayMetrics {
  prometheus::Counter& published;
  prometheus::Counter& failed;
  prometheus::Histogram& lag;

  static RelayMetrics& get() {
    auto& r = core::metrics::registry();
    static RelayMetrics m{
        prometheus::BuildCounter().Name("outbox_published_total").Help("Outbox rows published and acknowledged").Register(r).Add({}),
        prometheus::BuildCounter().Name("outbox_publish_failures_total").Help("Outbox rows Kafka did not acknowledge (retried)").Register(r).Add({}),
        prometheus::BuildHistogram().Name("outbox_relay_lag_seconds").Help("From the outbox insert to Kafka's acknowledgement").Register(r).Add({}, core::metrics::latency_buckets()),
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
      "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers) "
      "SELECT id, $1, key, type, payload::jsonb, headers::jsonb "
      "FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(id, key, type, payload, headers)",
      {pg::to_param(aggregate_type), pg::to_param(ids), pg::to_param(keys), pg::to_param(types),
       pg::to_param(payloads), pg::to_param(headers)}};
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
  thread_ = std::thread([this] { run(); });
}

void OutboxRelay::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
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
      "(extract(epoch FROM created_at) * 1000)::bigint "
      "FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
      static_cast<std::int64_t>(settings_.batch_size));
  if (!rows) return rows.error();
  if (rows->empty()) return std::size_t{0};

  // Acknowledgements arrive on the producer's thread.
  struct Acks {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t pending = 0;
    std::vector<std::string> acked;
  };
  auto acks = std::make_shared<Acks>();
  auto& metrics = RelayMetrics::get();
  const int count = rows->size();
  for (int i = 0; i < count; ++i) {
    Event event;
    event.id = rows->str(i, 0);
    event.key = rows->str(i, 1);
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
        OutgoingRecord{producer_.options().topic(event.type), event.key, event.data, to_headers(event)},
        [acks, id = event.id, created_ms, &metrics](const Delivery& delivery) {
          std::lock_guard lock(acks->mutex);
          if (delivery.status) {
            acks->acked.push_back(id);
            metrics.lag.Observe(static_cast<double>(core::to_unix_ms(core::now_ms()) - created_ms) / 1000.0);
          } else {
            metrics.failed.Increment();
            spdlog::warn("outbox: event {} not acknowledged: {}", id, delivery.status.error().message);
          }
          if (--acks->pending == 0) acks->done.notify_all();
        });
    if (!status) {
      std::lock_guard lock(acks->mutex);
      --acks->pending;
      spdlog::warn("outbox: cannot queue event {}: {}", event.id, status.error().message);
      break;  // keep the order: later rows wait for the next pass
    }
  }
  std::vector<std::string> acked;
  {
    std::unique_lock lock(acks->mutex);
    acks->done.wait_for(lock, settings_.ack_timeout, [&] { return acks->pending == 0; });
    acked = acks->acked;
  }
  if (acked.empty()) return std::size_t{0};
  auto deleted = tx->exec("DELETE FROM outbox WHERE id = ANY($1::uuid[])", acked);
  if (!deleted) return deleted.error();
  if (auto s = tx->commit(); !s) return s.error();
  metrics.published.Increment(static_cast<double>(acked.size()));
  return acked.size();
}

bool OutboxRelay::drain_wake_pipe() {
  char buffer[64];
  bool woken = false;
  while (::read(wake_read_, buffer, sizeof buffer) > 0) woken = true;
  return woken;
}

void OutboxRelay::run() {
  pthread_setname_np(pthread_self(), "outbox-relay");
  std::optional<pg::Connection> connection;
  auto backoff = std::chrono::milliseconds(100);
  while (!stop_) {
    if (!connection || !connection->healthy()) {
      connection.reset();
      auto fresh = pg::Connection::connect(connect_);
      // The relay's deletes need no flush of their own: one lost in a crash only
      // republishes rows that consumers deduplicate, and the writers' commits (whose
      // fsync carries these records too) no longer queue behind a second fsync per pass.
      if (fresh && fresh->listen(channel_) && fresh->exec("SET synchronous_commit = off")) {
        connection.emplace(std::move(fresh).value());
        backoff = std::chrono::milliseconds(100);
      } else {
        spdlog::warn("outbox relay: cannot connect to PostgreSQL: {}",
                     fresh ? "LISTEN or SET failed" : fresh.error().message);
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
    }
    auto published = publish_once(*connection);
    if (!published) {
      spdlog::warn("outbox relay: {}", published.error().message);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (*published == settings_.batch_size) continue;  // more rows are waiting
    // Wait for a local wake-up or a NOTIFY, in short slices so stop() is prompt.
    const auto until = std::chrono::steady_clock::now() + settings_.poll_interval;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      auto notified = connection->wait_for_notification(std::chrono::milliseconds(100), wake_read_);
      if (!notified || *notified) break;
      if (drain_wake_pipe()) break;
    }
  }
}

}  // namespace paypipe::events
