#pragma once
// The work of notification-sender, as the consumer runtime's AsyncHandler (concurrent
// mode: in order per key, at most PAYPIPE_CONSUMER_MAX_IN_FLIGHT at once, retries on
// timers).
//
// DELIVERY CONTRACT: at least once from Kafka; a message is sent at most once per event
// id (ce_id) as far as the log and the claims can tell. Each event goes through these
// stages, none on the poll thread:
//
//   handle (poll thread)   decode, pick chat and language, render        pure, no I/O
//   claim  (DB workers)    one statement per batch reads the users' linked chats (a
//                          linked chat replaces the configured one, links.hpp); one
//                          statement per batch: ids already logged are done; the
//                          rest are claimed (notification_claims: owner = this process,
//                          lease_until = now + PAYPIPE_NOTIFY_CLAIM_LEASE_MS), committed
//                          BEFORE any call; an id another owner holds unexpired is not
//                          sent now (retryable, waiting out its lease)
//   send   (HTTP I/O)      through the SendGate, Client::async_send       no thread waits
//   write  (DB workers)    one INSERT per batch into the log (marking the claims done:
//                          never claimed again), then done(ok)
//
// So two runners of one record (a partition revoked mid-send and given to another
// replica, or two lanes of this process) never both send: the second finds the claim.
// A job whose record was abandoned (ConsumedEvent::abandoned: its partition revoked or
// the runtime stopping) never starts its call: checked when it arrives, when its claim
// returns and when the gate releases it (a waiting job is let go at once); it releases
// its claim and reports retryable, and the partition's next owner runs the record. The
// call starts only while the claim's lease still covers the call's timeout (a long wait
// at the gate re-claims instead), so a lease never expires under a call in flight.
//
// What remains: a crash (or a call outliving its lease) after Telegram accepted a
// message and before its log row is committed. The claim then expires and the next
// runner takes it over and sends again; each takeover of another owner's expired claim
// is counted (notification_possible_duplicates_total). If the log write fails, the event
// is remembered in memory as "sent, not logged" (bounded) and reported retryable: its
// retry writes the row instead of sending again. A timeout is a "maybe sent" (see
// telegram.hpp): retried, the claim kept, counted in telegram_maybe_sent_total.
//
// Threading: handle() on the poll thread; HTTP answers on the client's I/O thread
// (they only classify and queue); the log stages on their own workers.

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/batch_queue.hpp"
#include "core/trace.hpp"
#include "events/consumer_runtime.hpp"
#include "http/client.hpp"
#include "notification_sender/config.hpp"
#include "notification_sender/links.hpp"
#include "notification_sender/notification_log.hpp"
#include "notification_sender/send_gate.hpp"
#include "pg/pool.hpp"

namespace paypipe::notification_sender {

// The log entry for an event from the configuration's recipients, or the outcome that
// ends it at once (fatal: a record that would fail the same way again). Pure.
struct Prepared {
  std::optional<LogEntry> entry;
  Notice notice;            // when entry: to render again for a linked chat
  events::Outcome outcome;  // when !entry
};
Prepared prepare(const events::Event& event, const Recipients& recipients,
                 const Templates& templates = Templates::defaults());

// A chat the user linked (links.hpp) comes before the configuration: `entry` is sent
// there, in the chat's language when it has one of ours. Pure.
void to_linked_chat(LogEntry& entry, const Notice& notice, const LinkedChat& chat, const Recipients& recipients,
                    const Templates& templates);

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
    Notice notice;
    core::TraceContext trace;
    events::OutcomeCallback done;
    std::shared_ptr<const std::atomic<bool>> abandoned;  // null: never
    std::chrono::steady_clock::time_point send_started{};
    std::chrono::steady_clock::time_point lease_ends{};  // of our claim, by our clock (conservative)

    bool is_abandoned() const { return abandoned && abandoned->load(std::memory_order_acquire); }
  };
  using JobPtr = std::shared_ptr<Job>;

  void check(std::vector<JobPtr>& jobs);
  void send(const JobPtr& job);
  void release(const JobPtr& job);
  void release_claims(std::vector<std::string>& event_ids);
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
  core::BatchQueue<std::string> release_queue_;
  // Event ids with a job in this process: a second job of the same id (the record on its
  // topic and on retry.<group> at once, or redelivered to us while an abandoned job of
  // ours still runs) waits instead of running beside it. The claim's owner is the same
  // for both, so the database alone would not tell them apart.
  std::mutex running_mutex_;
  std::unordered_set<std::string> running_;
  std::mutex unlogged_mutex_;
  std::unordered_map<std::string, LogEntry> unlogged_;
  std::deque<std::string> unlogged_order_;
};

}  // namespace paypipe::notification_sender
