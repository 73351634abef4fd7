#include "events/outbox.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <unordered_set>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "events/committed.hpp"
#include "events/event_types.hpp"
#include "events/retry.hpp"
#include "events/schemas.hpp"
#include "pg/array.hpp"

namespace paypipe::events {

namespace {

struct RelayMetrics {
  prometheus::Counter& published;
  prometheus::Counter& failed;
  prometheus::Counter& set_aside;
  prometheus::Counter& fast_path;
  prometheus::Counter& fast_path_left;
  prometheus::Gauge& fast_path_held;
  prometheus::Histogram& lag;
  prometheus::Histogram& fast_path_to_send;
  prometheus::Histogram& relay_to_send;

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
        prometheus::BuildCounter()
            .Name("outbox_fast_path_total")
            .Help("Outbox events published by the fast path, from the writer's commit (also in outbox_published_total)")
            .Register(r)
            .Add({}),
        prometheus::BuildCounter()
            .Name("outbox_fast_path_left_total")
            .Help("Committed events a writer left to the relay's pass: the fast path held its maximum, or the "
                  "producer refused them")
            .Register(r)
            .Add({}),
        prometheus::BuildGauge()
            .Name("outbox_fast_path_held")
            .Help("Events the fast path holds: handed to the producer and not acknowledged, or acknowledged "
                  "and their rows not yet deleted")
            .Register(r)
            .Add({}),
        prometheus::BuildHistogram()
            .Name("outbox_relay_lag_seconds")
            .Help("From the outbox insert (fast path: the commit) to Kafka's acknowledgement")
            .Register(r)
            .Add({}, core::metrics::hop_buckets()),
        commit_to_send().Add({{"path", "fast"}}, core::metrics::hop_buckets()),
        commit_to_send().Add({{"path", "relay"}}, core::metrics::hop_buckets()),
    };
    return m;
  }

  static prometheus::Family<prometheus::Histogram>& commit_to_send() {
    static auto& family = prometheus::BuildHistogram()
                              .Name("outbox_commit_to_send_seconds")
                              .Help(
                                  "From an event's outbox insert to the producer taking it: fast = the "
                                  "writer's commit and hand-over, relay = the wait for the relay's pass")
                              .Register(core::metrics::registry());
    return family;
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

// The writers' side of the fast path, shared by the relay that runs it and every
// delivery callback in flight.
class FastPath : public std::enable_shared_from_this<FastPath> {
  // The events one insert handed to the producer, for their delivery callbacks.
  struct Handed {
    std::vector<std::string> ids, keys;  // by index in the insert
    std::chrono::steady_clock::time_point committed;
    // Several events of one key in one insert: once one of them fails, the later ones
    // keep their rows even if Kafka took them, so that the pass publishes them again
    // after it (delivery reports come in order within a partition, hence within a key).
    std::mutex mutex;
    std::set<std::string> failed_keys;
    void failed(const std::string& key) {
      std::lock_guard lock(mutex);
      failed_keys.insert(key);
    }
    bool has_failed(const std::string& key) {
      std::lock_guard lock(mutex);
      return !failed_keys.empty() && failed_keys.count(key) > 0;
    }
  };

 public:
  FastPath(Producer& producer, std::size_t max_events) : producer_(producer), max_events_(max_events) {}

  // From the committing thread, in the order of the insert: one producer queue keeps a
  // key's events in that order. What it does not send keeps its row, for the relay's
  // pass after the grace period. Takes the events' payloads (the writer is done with them).
  // `inserted` is when the writer prepared the insert (its transaction's work and commit
  // come after).
  void publish(std::vector<Event>& events, std::chrono::steady_clock::time_point inserted) {
    auto& metrics = RelayMetrics::get();
    auto handed = std::make_shared<Handed>();
    handed->committed = std::chrono::steady_clock::now();
    const double since_insert = std::chrono::duration<double>(handed->committed - inserted).count();
    // Sized first: callbacks read their slot while the writer fills the next ones.
    handed->ids.resize(events.size());
    handed->keys.resize(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto& event = events[i];
      // Bounded (RelaySettings::fast_path_max_events): Kafka or the deleter slow, the
      // rest waits for the sweep; a key's later events of this insert with it, in order.
      if (static_cast<std::size_t>(held_.fetch_add(1)) >= max_events_) {
        --held_;
        metrics.fast_path_left.Increment(static_cast<double>(events.size() - i));
        return;
      }
      auto headers = to_headers(event, producer_.options().interop);
      handed->ids[i] = std::move(event.id);
      handed->keys[i] = event.key;
      const std::string& id = handed->ids[i];
      auto status = producer_.send(
          OutgoingRecord{producer_.options().topic(topic_of(event.type)), std::move(event.key), std::move(event.data),
                         std::move(headers)},
          [self = shared_from_this(), handed, i, &metrics](const Delivery& delivery) {
            const auto& key = handed->keys[i];
            if (!delivery.status) {
              self->release(1);
              metrics.failed.Increment();
              core::log::warn({{core::log::key::event_id, handed->ids[i]}},
                              "outbox fast path: event not acknowledged: {}", delivery.status.error().message);
              handed->failed(key);
              return;
            }
            metrics.lag.Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - handed->committed).count());
            metrics.published.Increment();
            metrics.fast_path.Increment();
            if (handed->has_failed(key)) {
              self->release(1);
            } else {
              self->delivered(handed->ids[i]);
            }
          });
      if (!status) {
        release(1);
        // Nothing after it either: a later event of its key must not overtake it.
        core::log::warn({{core::log::key::event_id, id}}, "outbox fast path: cannot queue event: {}",
                        status.error().message);
        metrics.fast_path_left.Increment(static_cast<double>(events.size() - i));
        return;
      }
      metrics.fast_path_to_send.Observe(since_insert);
    }
  }

  // The acknowledged ids, once some arrived or `wait` passed (at most `limit`). They stay
  // counted in what the fast path holds until deleted() (or given back).
  std::vector<std::string> take_delivered(std::chrono::milliseconds wait, std::size_t limit) {
    std::unique_lock lock(mutex_);
    delivered_cv_.wait_for(lock, wait, [&] { return !delivered_.empty() || stopping_; });
    if (delivered_.size() <= limit) return std::exchange(delivered_, {});
    std::vector<std::string> taken(std::make_move_iterator(delivered_.begin()),
                                   std::make_move_iterator(delivered_.begin() + static_cast<std::ptrdiff_t>(limit)));
    delivered_.erase(delivered_.begin(), delivered_.begin() + static_cast<std::ptrdiff_t>(limit));
    return taken;
  }
  // Their rows are gone.
  void deleted(std::size_t count) { release(count); }
  // A delete that failed: tried again with the next batch.
  void give_back(std::vector<std::string> ids) {
    std::lock_guard lock(mutex_);
    delivered_.insert(delivered_.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
  }
  void stopping() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    delivered_cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  // Events handed to the producer and not yet acknowledged, or acknowledged and not yet deleted.
  std::int64_t held() const { return held_.load(); }

  // A writer left rows to the relay's pass since the last delete: a delete may free
  // them (they wait behind a row of their key), so the deleter wakes the relay.
  std::atomic<bool> sweep_wanted{false};

 private:
  void delivered(const std::string& id) {
    std::lock_guard lock(mutex_);
    delivered_.push_back(id);
    delivered_cv_.notify_one();
  }
  void release(std::size_t count) { held_ -= static_cast<std::int64_t>(count); }

  Producer& producer_;
  const std::size_t max_events_;
  std::atomic<std::int64_t> held_{0};
  std::mutex mutex_;
  std::condition_variable delivered_cv_;
  std::vector<std::string> delivered_;
  bool stopping_ = false;
};

namespace {

// The relays of this process, for notify_outbox_committed(), and the fast path writers
// hand their events to (the first relay started with it on), both under relays_mutex.
std::mutex relays_mutex;
std::vector<OutboxRelay*> relays;
std::shared_ptr<FastPath> active_fast_path;

std::shared_ptr<FastPath> current_fast_path() {
  std::lock_guard lock(relays_mutex);
  return active_fast_path;
}

// Without the fast path: the insert as before it, nothing returned.
constexpr std::string_view insert_sql =
    // The ce_* columns repeat `headers` for Debezium's outbox router, which reads columns only.
    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, "
    "                    ce_source, ce_time, ce_dataschema, traceparent) "
    "SELECT id, $1, key, type, payload::jsonb, h, h->>'ce_source', h->>'ce_time', h->>'ce_dataschema', "
    "       h->>'traceparent' "
    "FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(id, key, type, payload, headers), "
    "     LATERAL (SELECT e.headers::jsonb AS h) AS parsed";

// With it: a row is the fast path's when no row of its key is in the outbox (every
// earlier event of the key was acknowledged). Rows of one statement do not see each
// other: the writer publishes them in this order.
constexpr std::string_view insert_fast_path_sql =
    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, "
    "                    ce_source, ce_time, ce_dataschema, traceparent, fast_path) "
    "SELECT id, $1, key, type, payload::jsonb, h, h->>'ce_source', h->>'ce_time', h->>'ce_dataschema', "
    "       h->>'traceparent', NOT EXISTS (SELECT 1 FROM outbox o WHERE o.aggregateid = e.key) "
    "FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(id, key, type, payload, headers), "
    "     LATERAL (SELECT e.headers::jsonb AS h) AS parsed "
    "RETURNING id::text, fast_path";

}  // namespace

// The sweep's read (the relay's pass with the fast path on). It costs O(batch), not
// O(backlog): a window of the oldest pending rows is read by the pending index, each
// one's key is probed by the aggregateid index (OFFSET 0 keeps NOT EXISTS a per-row
// subquery: as a join, PostgreSQL hashed every pending row and sorted them, 74 ms a pass
// at 30,000 rows), and only the rows chosen are locked, by primary key. A window full of
// rows still their writers' (within the grace period) publishes nothing this pass; they
// leave it within the grace period, when their writers' deleter removes them or they age.
std::string_view sweep_read_sql() {
  return "WITH pending AS ("
         "  SELECT id, aggregateid, seq, fast_path, created_at FROM outbox WHERE set_aside_at IS NULL "
         "  ORDER BY seq LIMIT $3), "
         "chosen AS ("
         "  SELECT p.id FROM pending p "
         "  WHERE (NOT p.fast_path OR p.created_at < now() - $2::bigint * interval '1 millisecond') "
         "  AND NOT EXISTS (SELECT 1 FROM outbox older WHERE older.aggregateid = p.aggregateid "
         "    AND older.seq < p.seq AND older.fast_path AND older.set_aside_at IS NULL "
         "    AND older.created_at >= now() - $2::bigint * interval '1 millisecond' OFFSET 0) "
         "  ORDER BY p.seq LIMIT $1) "
         "SELECT id::text, aggregateid, type, payload::text, headers::text, "
         "(extract(epoch FROM created_at) * 1000)::bigint, attempts "
         "FROM outbox WHERE id = ANY(ARRAY(SELECT id FROM chosen)) AND set_aside_at IS NULL "
         "ORDER BY seq FOR UPDATE SKIP LOCKED";
}

// What one insert wrote, and what happens to it after the commit.
struct OutboxInsert::Written {
  std::vector<Event> events;
  std::chrono::steady_clock::time_point prepared_at = std::chrono::steady_clock::now();
  bool asked_fast_path = false;
  std::vector<Event> fast;  // in insert order, moved out of `events` (which keeps the rest)

  // The insert's rows: which events the fast path may publish.
  void inserted(const pg::Rows& rows) {
    std::unordered_set<std::string_view> fast_ids;
    for (int i = 0; i < rows.size(); ++i) {
      if (rows.boolean(i, 1)) fast_ids.insert(rows.text(i, 0));
    }
    fast.clear();
    std::vector<Event> rest;
    for (auto& event : events) (fast_ids.count(event.id) ? fast : rest).push_back(std::move(event));
    events = std::move(rest);
  }

  void committed() {
    // Told before publish() takes the fast events' payloads.
    if (!events.empty()) tell_committed(events);
    if (!fast.empty()) tell_committed(fast);
    const bool all_fast = asked_fast_path && events.empty();
    // None since the insert (its relay stopped): the rows wait for the pass's grace period.
    const auto path = asked_fast_path ? current_fast_path() : nullptr;
    if (path && !all_fast) path->sweep_wanted = true;
    if (path && !fast.empty()) path->publish(fast, prepared_at);
    if (!all_fast) notify_outbox_committed();
  }
};

core::Result<OutboxInsert> OutboxInsert::prepare(std::vector<Event> events, std::string_view aggregate_type) {
  const auto count = events.size();
  pg::ArrayParam ids(count, 36), keys(count, 36), types(count, 40), payloads(count, 256), headers(count, 160);
  for (const auto& event : events) {
    const int version = event.dataschema.empty() ? 0 : SchemaRegistry::version_of(event.dataschema);
    if (auto valid = SchemaRegistry::builtin().validate(event.type, event.data, version); !valid) {
      // Our own code built an invalid event: a bug, never the client's fault.
      return core::make_error(core::ErrorCategory::internal, "outbox-schema-invalid", valid.error().message);
    }
    ids.add(event.id);
    keys.add(event.key);
    types.add(event.type);
    payloads.add(event.data);
    headers.add(headers_json(event));
  }
  auto written = std::make_shared<Written>();
  written->asked_fast_path = current_fast_path() != nullptr;
  std::vector<pg::Param> params;
  params.reserve(6);
  params.push_back(pg::to_param(aggregate_type));
  for (auto* column : {&ids, &keys, &types, &payloads, &headers}) params.push_back(std::move(*column).take());
  pg::Connection::Statement statement{written->asked_fast_path ? insert_fast_path_sql : insert_sql, std::move(params)};
  written->events = std::move(events);
  return OutboxInsert(std::move(statement), std::move(written));
}

core::Status OutboxInsert::run(pg::Transaction& tx) && {
  auto rows = tx.connection().exec_params(statement_.sql, statement_.params);
  if (!rows) return rows.error();
  if (written_->asked_fast_path) written_->inserted(*rows);
  tx.after_commit([written = std::move(written_)] { written->committed(); });
  return {};
}

void OutboxInsert::queue(pg::Pipeline& pipeline) && {
  if (written_->asked_fast_path) {
    pipeline.add(std::move(statement_), [written = written_](const pg::Rows& rows) { written->inserted(rows); });
  } else {
    pipeline.add(std::move(statement_));
  }
  pipeline.after_commit([written = std::move(written_)] { written->committed(); });
}

core::Status append_to_outbox(pg::Transaction& tx, const Event& event, std::string_view aggregate_type) {
  auto insert = OutboxInsert::prepare({event}, aggregate_type);
  if (!insert) return insert.error();
  return std::move(insert).value().run(tx);
}

namespace {
std::mutex listeners_mutex;
std::uint64_t next_listener = 1;
// Copied on change, read without holding the mutex while the listeners run.
std::shared_ptr<const std::vector<std::pair<std::uint64_t, CommittedListener>>> listeners =
    std::make_shared<std::vector<std::pair<std::uint64_t, CommittedListener>>>();
}  // namespace

std::uint64_t add_committed_listener(CommittedListener listener) {
  std::lock_guard lock(listeners_mutex);
  auto changed = std::make_shared<std::vector<std::pair<std::uint64_t, CommittedListener>>>(*listeners);
  const auto id = next_listener++;
  changed->emplace_back(id, std::move(listener));
  listeners = std::move(changed);
  return id;
}

void remove_committed_listener(std::uint64_t id) {
  std::lock_guard lock(listeners_mutex);
  auto changed = std::make_shared<std::vector<std::pair<std::uint64_t, CommittedListener>>>(*listeners);
  std::erase_if(*changed, [id](const auto& entry) { return entry.first == id; });
  listeners = std::move(changed);
}

void tell_committed(const std::vector<Event>& events) {
  std::shared_ptr<const std::vector<std::pair<std::uint64_t, CommittedListener>>> now;
  {
    std::lock_guard lock(listeners_mutex);
    now = listeners;
  }
  for (const auto& [id, listener] : *now) listener(events);
}

void notify_outbox_committed() {
  std::lock_guard lock(relays_mutex);
  for (auto* relay : relays) relay->wake();
}

void OutboxRelay::wake() {
  woken_locally_ = true;
  const char byte = 'w';
  (void)!::write(wake_write_, &byte, 1);  // a full pipe already wakes the relay
}

namespace {

// The relay's connections are named "<service>/<job>" (application_name), so that
// pg_stat_activity and pg_locks tell the relay, its deleter and its gauges from the
// service's pool.
pg::ConnectOptions for_job(pg::ConnectOptions options, std::string_view job) {
  options.application_name += "/";
  options.application_name += job;
  return options;
}

}  // namespace

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
  if (settings_.fast_path) {
    fast_path_ = std::make_shared<FastPath>(producer_, settings_.fast_path_max_events);
    {
      std::lock_guard lock(relays_mutex);
      if (!active_fast_path) active_fast_path = fast_path_;
    }
    deleter_thread_ = std::thread([this] { delete_delivered_until_stopped(); });
  }
}

void OutboxRelay::stop() {
  if (fast_path_) {
    std::lock_guard lock(relays_mutex);
    if (active_fast_path == fast_path_) active_fast_path.reset();
  }
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (backlog_thread_.joinable()) backlog_thread_.join();
  if (deleter_thread_.joinable()) {
    // What the writers handed over gets its acknowledgement before the last delete (a
    // row left behind is published again after a restart, a duplicate).
    (void)producer_.flush(std::min<std::chrono::milliseconds>(settings_.ack_timeout, std::chrono::seconds(5)));
    fast_path_->stopping();
    deleter_thread_.join();
  }
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
  // With the fast path, a fast_path row is its writer's for the grace period (now() is
  // this transaction's start, one instant for every row), and a row waits behind an
  // older one of its key that is still its writer's: the writer may be publishing it.
  auto rows = settings_.fast_path
                  ? tx->exec(sweep_read_sql(), static_cast<std::int64_t>(settings_.batch_size),
                             static_cast<std::int64_t>(settings_.fast_path_grace.count()),
                             static_cast<std::int64_t>(settings_.batch_size * sweep_window_batches))
                  : tx->exec(
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
    metrics.relay_to_send.Observe(
        static_cast<double>(std::max<std::int64_t>(0, core::to_unix_ms(core::now_ms()) - created_ms)) / 1000.0);
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

namespace {
// A backlog of two passes of the default batch: below it, a plan that sorts the backlog costs little.
constexpr std::int64_t stale_statistics_rows = 1000;
}  // namespace

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
  const std::int64_t estimated_rows = rows->integer(0, 1);  // -1: never analyzed
  backlog.pending_rows = rows->integer(0, 0);
  if (backlog.pending_rows >= exact_up_to) backlog.pending_rows = std::max(backlog.pending_rows, estimated_rows);
  backlog.oldest_age_seconds = static_cast<double>(std::max<std::int64_t>(0, rows->integer(0, 2))) / 1000.0;
  // The outbox is empty most of the time, and a vacuum of the emptied table leaves
  // statistics that say so; a backlog built before autovacuum's next ANALYZE (a burst, a
  // Kafka outage shorter than its naptime) is then planned as a few rows: every relay
  // pass reads the whole backlog and sorts it (1,722 events/s instead of 20,000,
  // docs/scaling.md). Statistics an order of magnitude short are refreshed here, at most
  // once per measurement (ANALYZE samples up to 30,000 rows and blocks no writer).
  if (backlog.pending_rows >= stale_statistics_rows && estimated_rows * 10 < backlog.pending_rows) {
    if (auto analyzed = connection.exec("ANALYZE outbox"); !analyzed) {
      spdlog::warn("outbox: cannot refresh the table's statistics: {}", analyzed.error().message);
    }
  }
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
      if (auto opened = pg::Connection::connect(for_job(connect_, "outbox-backlog")))
        connection.emplace(std::move(opened).value());
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

void OutboxRelay::delete_delivered_until_stopped() {
  pthread_setname_np(pthread_self(), "outbox-deleter");
  std::optional<pg::Connection> connection;
  // One DELETE for whatever was acknowledged meanwhile. A row the relay's pass holds
  // (locked) is skipped: that pass publishes it again and deletes it.
  auto delete_batch = [&](std::vector<std::string> ids) {
    if (!connection || !connection->healthy()) {
      connection.reset();
      auto opened = pg::Connection::connect(for_job(connect_, "outbox-deleter"));
      // No flush of its own, as the pass's deletes: a lost one only republishes.
      if (opened && opened->exec("SET synchronous_commit = off")) connection.emplace(std::move(opened).value());
    }
    auto deleted = connection ? connection->exec(
                                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1::uuid[]) "
                                    "FOR UPDATE SKIP LOCKED)",
                                    ids)
                              : core::Result<pg::Rows>(core::make_error(core::ErrorCategory::unavailable,
                                                                        "outbox-deleter", "no connection"));
    if (!deleted) {
      spdlog::warn("outbox deleter: {}", deleted.error().message);
      fast_path_->give_back(std::move(ids));
      return false;
    }
    fast_path_->deleted(ids.size());
    // Rows of a key written while these were in the table may be free to go now.
    if (fast_path_->sweep_wanted.exchange(false)) wake();
    return true;
  };
  auto& held = RelayMetrics::get().fast_path_held;
  // Until stop() has flushed the producer: the acknowledgements it waited for are deleted too.
  while (!fast_path_->stopped()) {
    auto ids = fast_path_->take_delivered(std::chrono::milliseconds(100), 10000);
    if (!ids.empty() && !delete_batch(std::move(ids))) {
      steady_retry_clock().sleep(std::chrono::milliseconds(200), stop_);
    }
    held.Set(static_cast<double>(fast_path_->held()));
  }
  // What was acknowledged up to now, once more (else the pass republishes it after the grace period).
  if (auto ids = fast_path_->take_delivered(std::chrono::milliseconds(0), 10000); !ids.empty()) {
    (void)delete_batch(std::move(ids));
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
            auto opened = pg::Connection::connect(for_job(connect_, "outbox-relay"));
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
