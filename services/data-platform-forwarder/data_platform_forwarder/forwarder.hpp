#pragma once
// The work of data-platform-forwarder, as the consumer runtime's AsyncHandler
// (concurrent mode: in order per key, at most PAYPIPE_CONSUMER_MAX_IN_FLIGHT at once,
// retries on timers, so while one record waits out its backoff the other keys and
// partitions keep flowing).
//
// DELIVERY CONTRACT: at least once. Every try carries Idempotency-Key = the event id, so
// the webhook can drop a repeat; the delivery log (event id = key) keeps a COMPLETED
// event from being sent again at all, and the claim on the row keeps two runners of one
// record (a partition revoked mid-call and given to another replica) from calling at
// the same time.
//
// Each try goes through these stages, none on the poll thread:
//   handle (poll thread)  builds the request                              pure, no I/O
//   start  (DB workers)   PUBLISHED if new, then claims: IN_PROGRESS with attempts + 1,
//                         claim_owner = this process, claim_until = now + the lease
//                         (PAYPIPE_FORWARDER_CLAIM_LEASE_MS), committed BEFORE the call;
//                         one pair of statements per batch. COMPLETED events end here;
//                         an event another owner holds unexpired is not sent now
//                         (retryable, waiting out its lease)
//   send   (HTTP I/O)     Client::async_send, only if the record was not abandoned
//                         (ConsumedEvent::abandoned: its partition was revoked) and the
//                         lease still covers the call's timeout
//   end    (DB workers)   COMPLETED | FAILED | DEAD_LETTER with the last error, the claim
//                         cleared, one statement per batch, then the outcome goes to the
//                         runtime (which retries, or sends the record to
//                         dlq.data-platform-forwarder)
//
// The remaining window for a repeat on the wire: the process dies (or its call outlives
// the lease, or the log cannot be written) between the webhook's 2xx and the COMPLETED
// row. The next runner takes the expired claim over and sends again with the same
// Idempotency-Key; each takeover of another owner's claim is counted
// (webhook_possible_duplicates_total).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "core/batch_queue.hpp"
#include "core/trace.hpp"
#include "data_platform_forwarder/config.hpp"
#include "data_platform_forwarder/delivery_log.hpp"
#include "data_platform_forwarder/webhook.hpp"
#include "events/consumer_runtime.hpp"
#include "http/client.hpp"
#include "pg/pool.hpp"

namespace paypipe::data_platform_forwarder {

class Forwarder {
 public:
  Forwarder(const Config& config, pg::Pool& pool, http::Client& client);
  ~Forwarder();  // stop()
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // The AsyncHandler. Never blocks.
  void handle(const events::ConsumedEvent& event, events::OutcomeCallback done);
  events::AsyncHandler handler() {
    return [this](const events::ConsumedEvent& event, events::OutcomeCallback done) { handle(event, std::move(done)); };
  }

  // Call after the consumer stopped: takes no more events, finishes the queued log work
  // and joins the workers. Idempotent.
  void stop();

 private:
  struct Job {
    TryStart start;
    std::shared_ptr<const std::atomic<bool>> abandoned;  // null: never
    std::chrono::steady_clock::time_point lease_ends{};  // of our claim, by our clock (conservative)
    bool not_sent = false;                               // ended before its call: abandoned or lease short
    http::ClientRequest request;
    bool last_try = false;
    core::TraceContext trace;
    events::OutcomeCallback done;
    int attempt = 0;  // HTTP tries so far, this one included (from the log)
    std::chrono::steady_clock::time_point send_started{};
    WebhookVerdict verdict;

    bool is_abandoned() const { return abandoned && abandoned->load(std::memory_order_acquire); }
  };
  using JobPtr = std::shared_ptr<Job>;

  void start(std::vector<JobPtr>& jobs);
  void send(const JobPtr& job);
  void end_unsent(const JobPtr& job, std::string name, std::string why);
  void on_answer(const JobPtr& job, const core::Result<http::ClientResponse>& answer);
  void end(std::vector<JobPtr>& jobs);

  const Config& config_;
  pg::Pool& pool_;
  http::Client& client_;
  std::atomic<bool> stopping_{false};
  core::BatchQueue<JobPtr> start_queue_;
  core::BatchQueue<JobPtr> end_queue_;
  // Event ids with a job in this process: a second job of the same id (the record on its
  // topic and on retry.<group> at once) waits; both would carry this process's claim.
  std::mutex running_mutex_;
  std::unordered_set<std::string> running_;
};

}  // namespace paypipe::data_platform_forwarder
