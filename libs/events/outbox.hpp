#pragma once
// The transactional outbox: a service writes its state change and the events that
// announce it in ONE PostgreSQL transaction (append_to_outbox); the relay publishes
// them to Kafka afterwards and deletes each row only after Kafka acknowledged it.
// Nothing is lost (a crash before the acknowledgement republishes; consumers
// deduplicate by event id) and nothing is announced that did not happen.
//
// Waking the relay: a writer's commit wakes the relays of its own process at once
// (append_to_outbox and OutboxInsert do it through the transaction's after-commit hook,
// and only for events the fast path below does not publish itself).
// A relay woken that way which cannot publish because another replica's relay holds
// the lock sends one NOTIFY outbox_<schema>, which that relay LISTENs for; the poll
// interval is the fallback. NOTIFY is kept out of the writing transactions on
// purpose: it takes a global lock at commit that would serialise them all.
//
// The relay takes rows in batches with SELECT ... FOR UPDATE SKIP LOCKED inside a
// transaction that also holds a per-schema advisory lock: any number of replicas may
// run a relay, one of them publishes at a time, in insertion order, so events of one
// key reach Kafka in the order they were written.
//
// A row Kafka does not acknowledge keeps its aggregate's later rows back: none of them
// is deleted in that pass (an acknowledged one is published again after it), and while
// the row is retried (its attempts > 0) the aggregate's later rows wait for its outcome.
// A row that keeps failing while the others flow, or that Kafka refuses for good, is
// set aside with its reason (set_aside_at, last_error; metric outbox_set_aside_total)
// and no longer holds anything back: one bad row does not stall the relay.
//
// The backlog is measured from the table itself, so it keeps rising when Kafka is down
// and nothing gets published: while the relay runs, a thread of its own (with its own
// connection, so the publishing loop never waits for it) sets outbox_pending_rows and
// outbox_oldest_age_seconds (rows not set aside) every backlog_interval.
//
// The fast path (RelaySettings::fast_path, on by default): a writer does not wait for
// the relay to read its rows back. Its insert also asks whether an older row of each
// event's key is still in the outbox (rows are deleted only once Kafka acknowledged
// them); the events with none are marked fast_path, and after the COMMIT the writer's
// thread hands them from memory straight to the producer (they are committed, so
// publishing them is safe). A deleter thread deletes the acknowledged rows in batches,
// off the request path. Every other row goes through the relay's pass above (the
// sweep), which leaves a fast_path row to its writer for fast_path_grace and then
// publishes it itself (the writer died between COMMIT and publish, or Kafka did not
// take it), and holds a key's later rows behind such a row. Order per key holds across
// both paths and any number of replicas: an event is published by the fast path only
// when every earlier event of its key was acknowledged (their rows are gone; writers of
// one aggregate serialise on its row, so the earlier rows are visible to the insert),
// otherwise by the sweep in seq order after them (docs/reliability.md). What the fast
// path holds (events in flight, ids waiting for their delete) is bounded by
// fast_path_max_events; past it, events wait for the sweep.

#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "pg/pg.hpp"

namespace paypipe::events {

class FastPath;

// One INSERT of many events into the outbox. prepare() validates every event against
// its schema first (an invalid one is an internal error: our own code built it), so a
// caller can check before it queues anything. `aggregate_type` is Debezium's
// aggregatetype ("order", "payment", ...). After the transaction commits, the events
// the fast path may take go to Kafka from the committing thread, and the relay is
// woken for the others; a rollback (or one to a savepoint taken before) drops both.
class OutboxInsert {
 public:
  static core::Result<OutboxInsert> prepare(std::vector<Event> events, std::string_view aggregate_type);
  // Runs the insert in `tx`.
  core::Status run(pg::Transaction& tx) &&;
  // Queues it in `pipeline`: it travels with the pipeline's next flush() or commit().
  void queue(pg::Pipeline& pipeline) &&;

 private:
  struct Written;
  OutboxInsert(pg::Connection::Statement statement, std::shared_ptr<Written> written)
      : statement_(std::move(statement)), written_(std::move(written)) {}
  pg::Connection::Statement statement_;
  std::shared_ptr<Written> written_;
};

// OutboxInsert::prepare + run, for one event.
core::Status append_to_outbox(pg::Transaction& tx, const Event& event, std::string_view aggregate_type);

// Wakes every relay of this process (rows were put back in line). Cheap and thread-safe.
void notify_outbox_committed();

struct RelaySettings {
  std::string schema;  // the service's schema (search_path of `connect`)
  std::size_t batch_size = 500;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds ack_timeout{35000};
  // A row that failed this many passes while other rows of the same pass were
  // acknowledged (Kafka works; this row does not) is set aside. A row Kafka refuses
  // for good (too large, topic missing, not authorised) is set aside at once.
  int set_aside_after = 3;
  // false while another publisher (Debezium, docs/operations.md) owns the outbox: start()
  // runs no loop and the relay reports itself healthy, so the daemon's checks still pass.
  bool enabled = true;
  // How often the backlog gauges are measured (two index scans, the count bounded).
  std::chrono::milliseconds backlog_interval{5000};
  // Writers of this process publish their committed events themselves (see above);
  // false: every row goes through the relay's pass, as before the fast path.
  bool fast_path = true;
  // How long the relay's pass leaves a fast_path row to its writer before publishing it.
  std::chrono::milliseconds fast_path_grace{3000};
  // The most events the fast path holds at once: handed to the producer and not yet
  // acknowledged, or acknowledged and their rows not yet deleted (about 1 KiB each in
  // flight). Past it, writers leave their events to the relay's pass (they are committed:
  // it publishes them after fast_path_grace), so a slow Kafka or PostgreSQL cannot grow
  // the process without limit.
  std::size_t fast_path_max_events = 4096;
};

// The outbox's backlog in the schema `connection` uses: rows waiting to be published
// (not set aside) and the age of the oldest. Counted exactly up to `exact_up_to` rows;
// beyond, PostgreSQL's estimate of the table's rows (a backlog that large is an outage
// whichever the exact number). A backlog of 1,000 rows or more that the table's
// statistics put at a tenth or less is ANALYZEd, so the relay's read keeps its index
// plan (the relay's backlog thread runs this every backlog_interval).
struct OutboxBacklog {
  std::int64_t pending_rows = 0;
  double oldest_age_seconds = 0;
};
core::Result<OutboxBacklog> measure_backlog(pg::Connection& connection, std::int64_t exact_up_to = 100000);

// The relay's read with the fast path on (the sweep): $1 batch size, $2 grace in ms, $3
// the window of oldest pending rows it looks at (sweep_window_batches batches). Exposed
// for the test that EXPLAINs it at a large backlog.
std::string_view sweep_read_sql();
inline constexpr std::size_t sweep_window_batches = 4;

// One outbox row set aside by the relay, for operators (paypipe-admin outbox ...).
struct SetAsideRow {
  std::string id;
  std::string type;
  std::string aggregate_id;
  std::int64_t attempts = 0;
  std::string reason;
  std::string set_aside_at;  // RFC 3339
};
// The rows set aside in the schema `connection` uses, oldest first.
core::Result<std::vector<SetAsideRow>> list_set_aside(pg::Connection& connection, std::size_t limit = 100);
// Puts set-aside rows back in line (all of them when `ids` is empty); returns how many.
// They are published in their original order among the pending rows.
core::Result<std::int64_t> requeue_set_aside(pg::Connection& connection, const std::vector<std::string>& ids);

class OutboxRelay {
 public:
  OutboxRelay(pg::ConnectOptions connect, Producer& producer, RelaySettings settings);
  ~OutboxRelay();  // stop()
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void start();
  // Finishes the batch in progress (bounded by ack_timeout), then stops. With the fast
  // path, also waits (up to 5 s) for what writers handed to the producer and deletes it.
  void stop();
  // Health, from any thread: false once the relay's thread has ended (stopped, or died);
  // heartbeat() is when its loop last went round (at least every 100 ms while it waits,
  // at least every ack_timeout while it publishes): an old one means it is stuck.
  bool running() const { return running_; }
  std::chrono::steady_clock::time_point heartbeat() const {
    if (!settings_.enabled) return std::chrono::steady_clock::now();  // off: nothing to be stuck on
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(heartbeat_.load()));
  }

  // One pass on `connection`: publishes up to batch_size rows, deletes the acknowledged
  // ones, returns how many. 0 when another relay holds the lock. For tests and the
  // relay's own loop.
  core::Result<std::size_t> publish_once(pg::Connection& connection);

 private:
  void run();
  void loop();
  void measure_backlog_until_stopped();
  void delete_delivered_until_stopped();
  void beat();
  void wake();
  bool drain_wake_pipe();
  friend void notify_outbox_committed();

  pg::ConnectOptions connect_;
  Producer& producer_;
  RelaySettings settings_;
  std::string channel_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> woken_locally_{false};
  std::atomic<std::chrono::steady_clock::rep> heartbeat_{std::chrono::steady_clock::now().time_since_epoch().count()};
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::thread thread_;
  std::thread backlog_thread_;
  std::shared_ptr<FastPath> fast_path_;  // set while the fast path is on
  std::thread deleter_thread_;
};

}  // namespace paypipe::events
