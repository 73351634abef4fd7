#pragma once
// The work of notification-sender, as the consumer runtime's AsyncHandler (concurrent
// mode: in order per key, at most PAYPIPE_CONSUMER_MAX_IN_FLIGHT at once, retries on
// timers).
//
// DELIVERY CONTRACT: at least once from Kafka; a message is sent at most once per event
// id (ce_id) as far as the log can tell. Each event goes through three stages, none on
// the poll thread:
//
//   handle (poll thread)   decode, pick chat and language, render        pure, no I/O
//   check  (DB workers)    one SELECT per batch: ids already logged are done
//   send   (HTTP I/O)      through the SendGate, Client::async_send       no thread waits
//   write  (DB workers)    one INSERT per batch into the log, then done(ok)
//
// The offset of an event is stored only after its log row is committed, so a crash
// after Telegram accepted a message but before its row was written sends it again on
// redelivery: the one window where a duplicate can happen. If the log write fails, the
// event is remembered in memory as "sent, not logged" (bounded) and reported retryable:
// its retry writes the row instead of sending again.
//
// Threading: handle() on the poll thread; HTTP answers on the client's I/O thread
// (they only classify and queue); the log stages on their own workers.

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/batch_queue.hpp"
#include "core/trace.hpp"
#include "events/consumer_runtime.hpp"
#include "http/client.hpp"
#include "pg/pool.hpp"
#include "src/config.hpp"
#include "src/notification_log.hpp"
#include "src/send_gate.hpp"

namespace paypipe::notification_sender {

// The log entry for an event, or the outcome that ends it at once (fatal: a record that
// would fail the same way again). Pure.
struct Prepared {
  std::optional<LogEntry> entry;
  events::Outcome outcome;  // when !entry
};
Prepared prepare(const events::Event& event, const Recipients& recipients);

class Notifier {
 public:
  Notifier(const Config& config, pg::Pool& pool, http::Client& telegram);
  ~Notifier();  // stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // The AsyncHandler. Never blocks.
  void handle(const events::ConsumedEvent& event, events::OutcomeCallback done);
  events::AsyncHandler handler() {
    return [this](const events::ConsumedEvent& event, events::OutcomeCallback done) { handle(event, std::move(done)); };
  }

  // Call after the consumer stopped: takes no more events, ends the sends still held by
  // the gate as retryable (not sent: the records are redelivered after the restart),
  // finishes the queued log work and joins the workers. Idempotent.
  void stop();

  SendGate& gate() { return gate_; }

 private:
  struct Job {
    LogEntry entry;
    core::TraceContext trace;
    events::OutcomeCallback done;
    std::chrono::steady_clock::time_point send_started{};
  };
  using JobPtr = std::shared_ptr<Job>;

  void check(std::vector<JobPtr>& jobs);
  void send(const JobPtr& job);
  void start_send(const JobPtr& job);
  void on_answer(const JobPtr& job, const core::Result<http::ClientResponse>& answer);
  void write(std::vector<JobPtr>& jobs);
  void to_write(const JobPtr& job);

  // "Sent, not logged": bounded, oldest forgotten first.
  void remember_unlogged(const LogEntry& entry);
  std::optional<LogEntry> unlogged(const std::string& event_id);
  void forget_unlogged(const std::string& event_id);

  const Config& config_;
  pg::Pool& pool_;
  http::Client& telegram_;
  std::atomic<bool> shutting_down_{false};
  SendGate gate_;
  core::BatchQueue<JobPtr> check_queue_;
  core::BatchQueue<JobPtr> write_queue_;
  std::mutex unlogged_mutex_;
  std::unordered_map<std::string, LogEntry> unlogged_;
  std::deque<std::string> unlogged_order_;
};

}  // namespace paypipe::notification_sender
