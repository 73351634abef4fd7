#pragma once
// The work of data-platform-forwarder, as the consumer runtime's AsyncHandler
// (concurrent mode: in order per key, at most PAYPIPE_CONSUMER_MAX_IN_FLIGHT at once,
// retries on timers, so while one record waits out its backoff the other keys and
// partitions keep flowing).
//
// DELIVERY CONTRACT: at least once. Every try carries Idempotency-Key = the event id, so
// the webhook can drop a repeat; the delivery log (event id = key) keeps a COMPLETED
// event from being sent again at all. A repeat on the wire is possible only when the
// process dies (or the log cannot be written) between the webhook's 2xx and the
// COMPLETED row.
//
// Each try goes through three stages, none on the poll thread:
//   handle (poll thread)  builds the request                              pure, no I/O
//   start  (DB workers)   PUBLISHED if new, then IN_PROGRESS with attempts + 1, one
//                         pair of statements per batch; COMPLETED events end here
//   send   (HTTP I/O)     Client::async_send
//   end    (DB workers)   COMPLETED | FAILED | DEAD_LETTER with the last error, one
//                         statement per batch, then the outcome goes to the runtime
//                         (which retries, or sends the record to dlq.data-platform-forwarder)

#include <atomic>
#include <memory>

#include "core/batch_queue.hpp"
#include "core/trace.hpp"
#include "events/consumer_runtime.hpp"
#include "http/client.hpp"
#include "pg/pool.hpp"
#include "src/config.hpp"
#include "src/delivery_log.hpp"
#include "src/webhook.hpp"

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
    http::ClientRequest request;
    bool last_try = false;
    core::TraceContext trace;
    events::OutcomeCallback done;
    int attempt = 0;  // HTTP tries so far, this one included (from the log)
    std::chrono::steady_clock::time_point send_started{};
    WebhookVerdict verdict;
  };
  using JobPtr = std::shared_ptr<Job>;

  void start(std::vector<JobPtr>& jobs);
  void send(const JobPtr& job);
  void on_answer(const JobPtr& job, const core::Result<http::ClientResponse>& answer);
  void end(std::vector<JobPtr>& jobs);

  const Config& config_;
  pg::Pool& pool_;
  http::Client& client_;
  std::atomic<bool> stopping_{false};
  core::BatchQueue<JobPtr> start_queue_;
  core::BatchQueue<JobPtr> end_queue_;
};

}  // namespace paypipe::data_platform_forwarder
