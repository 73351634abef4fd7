#pragma once
// The consumer runtime every service uses: one implementation of
//
//   poll -> decode the CloudEvent -> validate its schema -> handler -> outcome
//        -> success: store the offset
//        -> infrastructure (PostgreSQL or Kafka unavailable, connection lost, 40001,
//           40P01: core::is_infrastructure): retried IN PLACE, in order, with capped
//           backoff (infrastructure_backoff), for as long as it lasts; never dead-lettered
//        -> retryable (an outside service failed): in-process retries (RetryPolicy),
//           then dlq.<group>
//        -> fatal (undecodable, schema-invalid, or the handler says so): dlq.<group>
//   an offset is stored only after its record's work is durable (the handler
//   returned, or the dead letter was acknowledged by Kafka), and never past a record
//   not finished (OffsetTracker).
//
// DELIVERY CONTRACT: at least once. A record whose handler ran may be delivered again
// (a crash before the commit, a rebalance), so every handler must be idempotent; the
// event id (ce_id) is the key that deduplicates (see events/idempotency.hpp).
//
// The runtime subscribes to the service's topics and to retry.<group>, where
// dlq-retrier sends records back for another attempt.
//
// Two ways to run handlers:
//   * batch (database consumers): a BatchHandler gets up to batch_size events at once
//     on the poll thread and returns one Outcome each, typically after ONE transaction.
//     Retries happen in place, so a partition's order is kept. While a batch waits
//     out an infrastructure failure the assignment is paused and the thread keeps
//     polling (rebalances, max.poll.interval.ms). A handler whose transaction failed
//     reports the failure for every event of it.
//   * concurrent (calls to the outside world): an AsyncHandler starts work and reports
//     later from any thread. Records run in parallel across keys, in order per key, at
//     most max_in_flight at a time (a window full for over a second pauses), and retries wait
//     on timers, never on the poll thread: one slow key or partition never holds up
//     the others, and the consumer keeps polling within max.poll.interval.ms. An
//     infrastructure failure pauses its partition and starts no other record of it
//     until the failing one succeeds.
//
// Rebalances are cooperative (cooperative-sticky, see events/consumer.hpp): only the
// partitions that move are revoked. On a revoke the concurrent runtime sets
// ConsumedEvent::abandoned on the departing partitions' jobs, drops what has not
// started, waits for running jobs within revoke_drain_timeout, and stores each
// partition's offset only up to its lowest unfinished record: a job still running is
// run again by the next owner, so it must check is_abandoned() before its outside
// effect. A lost partition (another member may own it) stores nothing.
//
// stop(): stops polling, releases at once the records waiting in backoff or queued
// (not committed past: redelivered later), marks running jobs abandoned and lets them
// finish within the timeout, stores and commits offsets, leaves the group.
//
// Health: last_poll() is when the poll loop last went round (any thread, atomic);
// stalled_on() is the infrastructure error a partition is waiting out, cleared when
// the record goes through.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "events/consumer.hpp"
#include "events/envelope.hpp"
#include "events/outcome.hpp"
#include "events/producer.hpp"
#include "events/retry.hpp"

namespace paypipe::events {

// A decoded, schema-valid event and where it came from.
struct ConsumedEvent {
  Event event;
  std::string topic;           // the topic it was read from (may be retry.<group>)
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  int attempt = 1;             // 1 = first delivery; from the `attempt` header after retries
  int try_number = 1;          // in-process try of this delivery, 1-based
  bool last_try = false;       // if this try fails retryably, the record goes to dlq.<group>
  // Set by the runtime when the record's partition is revoked (or lost) or the runtime
  // stops while the record is in flight: the partition's next owner runs the record again,
  // so a job that sees it set must not start its outside effect (a Telegram call, a
  // webhook post). Null in tests that build events by hand: never abandoned.
  std::shared_ptr<const std::atomic<bool>> abandoned{};
  bool is_abandoned() const { return abandoned && abandoned->load(std::memory_order_acquire); }
};

using BatchHandler = std::function<std::vector<Outcome>(std::span<const ConsumedEvent> events)>;
using OutcomeCallback = std::function<void(Outcome)>;
using AsyncHandler = std::function<void(const ConsumedEvent& event, OutcomeCallback done)>;

struct RuntimeSettings {
  ConsumerSettings consumer;
  RetryPolicy retry;
  // Batch mode.
  std::size_t batch_size = 1;                 // 1 = no batching
  std::chrono::milliseconds batch_linger{2};  // wait this long for a batch to fill
  // Concurrent mode.
  std::size_t max_in_flight = 256;
  // Both.
  bool subscribe_retry_topic = true;
  std::chrono::milliseconds revoke_drain_timeout{10000};
  // The wait before each in-place retry of an infrastructure failure (max_attempts is
  // not used: it retries for as long as the failure lasts): 100 ms x2 capped at 1 s, so
  // a partition resumes (and its daemon is ready) within about a second of the return.
  RetryPolicy infrastructure_backoff{0, std::chrono::milliseconds(100), 2.0, std::chrono::milliseconds(1000)};
  // The component name in error classes ("paypipe.<component>.<Code>").
  std::string component = "events";
};

class ConsumerRuntime {
 public:
  // `producer` publishes dead letters; it must outlive the runtime.
  static core::Result<std::unique_ptr<ConsumerRuntime>> batch(const KafkaOptions& options, RuntimeSettings settings,
                                                              Producer& producer, BatchHandler handler);
  static core::Result<std::unique_ptr<ConsumerRuntime>> concurrent(const KafkaOptions& options,
                                                                   RuntimeSettings settings, Producer& producer,
                                                                   AsyncHandler handler);
  ~ConsumerRuntime();  // stop() with the default timeout
  ConsumerRuntime(const ConsumerRuntime&) = delete;
  ConsumerRuntime& operator=(const ConsumerRuntime&) = delete;

  // Subscribes and starts the poll thread.
  core::Status start();
  // Bounded, idempotent. See the header comment.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  // The poll thread is alive and has not failed.
  bool running() const;
  // Health, from any thread (for /healthz and /readyz):
  // when the poll loop last went round: a loop that stops advancing it is stuck;
  std::chrono::steady_clock::time_point last_poll() const;
  // the infrastructure error (PostgreSQL or Kafka unavailable) a partition is waiting
  // out in place, if any: the daemon is alive but not ready.
  std::optional<core::Error> stalled_on() const;
  const std::string& group_id() const;

  struct Impl;

 private:
  explicit ConsumerRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace paypipe::events
