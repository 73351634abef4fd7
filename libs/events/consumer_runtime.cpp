#include "events/consumer_runtime.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "core/trace.hpp"
#include "events/dead_letter.hpp"
#include "events/lane_scheduler.hpp"
#include "events/offset_tracker.hpp"
#include "events/schemas.hpp"

namespace paypipe::events {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace lk = core::log::key;  // the log field names

namespace {

struct RuntimeMetrics {
  prometheus::Family<prometheus::Counter>& records;
  prometheus::Family<prometheus::Counter>& retries;
  prometheus::Family<prometheus::Counter>& dead_letters;
  prometheus::Family<prometheus::Histogram>& handler_seconds;
  prometheus::Family<prometheus::Gauge>& in_flight;
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Counter>& infrastructure_retries;
  prometheus::Family<prometheus::Gauge>& stalled_partitions;
  prometheus::Family<prometheus::Histogram>& record_age_at_poll;
  prometheus::Family<prometheus::Histogram>& poll_to_done;

  static RuntimeMetrics& get() {
    auto& r = core::metrics::registry();
    static RuntimeMetrics m{
        prometheus::BuildCounter()
            .Name("consumer_records_total")
            .Help("Records finished, by group and outcome")
            .Register(r),
        prometheus::BuildCounter()
            .Name("consumer_retries_total")
            .Help("In-process retries of retryable failures")
            .Register(r),
        prometheus::BuildCounter()
            .Name("consumer_dead_letters_total")
            .Help("Records sent to dlq.<group>, by error class")
            .Register(r),
        prometheus::BuildHistogram()
            .Name("consumer_handler_duration_seconds")
            .Help("Handler time per call (a batch in batch mode)")
            .Register(r),
        prometheus::BuildGauge().Name("consumer_in_flight").Help("Records polled and not yet finished").Register(r),
        prometheus::BuildGauge().Name("consumer_lag").Help("High watermark minus position, per partition").Register(r),
        prometheus::BuildCounter()
            .Name("consumer_infrastructure_retries_total")
            .Help("In-place retries of records whose handler failed on the infrastructure (database or broker "
                  "unavailable)")
            .Register(r),
        prometheus::BuildGauge()
            .Name("consumer_stalled_partitions")
            .Help("Partitions stopped in place, waiting out an infrastructure failure")
            .Register(r),
        prometheus::BuildHistogram()
            .Name("consumer_record_age_at_poll_seconds")
            .Help("From a record's timestamp (the producer's CreateTime, or the broker's LogAppendTime) to its poll")
            .Register(r),
        prometheus::BuildHistogram()
            .Name("consumer_poll_to_done_seconds")
            .Help("From a record's poll to its work done (handler succeeded, or dead letter acknowledged)")
            .Register(r),
    };
    return m;
  }
};

// One polled record on its way through the runtime.
struct Item {
  ConsumedRecord record;
  std::optional<ConsumedEvent> decoded;  // nullopt: undecodable or schema-invalid
  Outcome decode_failure;
  int tries = 0;                  // in-process attempts made (infrastructure failures not counted)
  int infrastructure_tries = 0;   // in-place retries after infrastructure failures
  bool stalled = false;           // counted in its partition's Stall
  std::uint64_t epoch = 0;        // the assignment epoch of its partition when polled
  std::string lane;               // concurrent mode: topic/partition/key
  LaneScheduler::Id id = 0;       // concurrent mode: its job in the LaneScheduler
  bool dead_lettering = false;
  bool counted = true;            // still counted in in_flight
  Clock::time_point polled_at = Clock::now();
  // Shared with the handler through ConsumedEvent::abandoned.
  std::shared_ptr<std::atomic<bool>> abandoned = std::make_shared<std::atomic<bool>>(false);

  void abandon() const { abandoned->store(true, std::memory_order_release); }
};

using ItemPtr = std::shared_ptr<Item>;

enum class Mode { batch, concurrent };

// Handler results and dead-letter acknowledgements arrive here from any thread. It is
// shared with every pending callback, so a callback that fires after the runtime is
// gone finds it closed instead of a dangling runtime.
struct Completion {
  ItemPtr item;
  Outcome outcome;
  bool dead_letter_ack = false;
  core::Status dead_letter_status;
};

class CompletionSink {
 public:
  explicit CompletionSink(KafkaConsumer* consumer) : consumer_(consumer) {}
  void push(Completion completion) {
    std::lock_guard lock(mutex_);
    if (consumer_ == nullptr) return;
    items_.push_back(std::move(completion));
    consumer_->wake();
  }
  std::vector<Completion> take() {
    std::lock_guard lock(mutex_);
    std::vector<Completion> out;
    out.swap(items_);
    return out;
  }
  void close() {
    std::lock_guard lock(mutex_);
    consumer_ = nullptr;
    items_.clear();
  }

 private:
  std::mutex mutex_;
  KafkaConsumer* consumer_;
  std::vector<Completion> items_;
};

}  // namespace

struct ConsumerRuntime::Impl : RebalanceListener {
  Mode mode = Mode::batch;
  KafkaOptions options;
  RuntimeSettings settings;
  Producer* producer = nullptr;
  BatchHandler batch_handler;
  AsyncHandler async_handler;
  std::unique_ptr<KafkaConsumer> consumer;
  std::string group;  // logical
  std::string dlq_topic_name;

  std::thread thread;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> alive{false};
  std::chrono::milliseconds stop_timeout{10000};
  std::mutex stop_mutex;
  bool stopped = false;

  // Health, read from any thread.
  std::atomic<Clock::rep> last_poll_ticks{Clock::now().time_since_epoch().count()};
  mutable std::mutex stall_mutex;
  std::optional<core::Error> stall_snapshot;  // guarded by stall_mutex

  // Poll-thread state.
  OffsetTracker offsets;
  // Partitions waiting out an infrastructure failure in place: how many of their
  // records do, and the latest error.
  struct Stall {
    int records = 0;
    core::Error error;
  };
  std::map<TopicPartition, Stall> stalls;
  LaneScheduler lanes{1};  // concurrent mode; sized by make_impl
  std::unordered_map<LaneScheduler::Id, ItemPtr> jobs;
  LaneScheduler::Id next_job_id = 1;
  std::size_t in_flight = 0;
  bool paused = false;        // concurrent mode: the whole assignment, for a full window
  bool reapply_pause = false;  // a rebalance assigned partitions: pause them too if paused
  std::optional<Clock::time_point> window_full_since;
  struct Timer {
    Clock::time_point due;
    ItemPtr item;
    bool operator>(const Timer& other) const { return due > other.due; }
  };
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::deque<ItemPtr> carried;  // batch mode: polled while a batch waited out an outage
  Clock::time_point next_lag_report{};

  std::shared_ptr<CompletionSink> sink;

  RuntimeMetrics& metrics = RuntimeMetrics::get();
  prometheus::Gauge* in_flight_gauge = nullptr;
  prometheus::Gauge* stalled_gauge = nullptr;
  prometheus::Counter* infrastructure_retries = nullptr;
  prometheus::Histogram* record_age_histogram = nullptr;
  prometheus::Histogram* poll_to_done_histogram = nullptr;

  // ---------------------------------------------------------------- shared steps

  void heartbeat() { last_poll_ticks.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed); }

  void on_assigned(const std::vector<TopicPartition>& partitions) override {
    for (const auto& p : partitions) offsets.assign(p);
    // An eager assignment starts every partition unpaused, an incremental one only the
    // new ones: the loop pauses them again if it was paused.
    reapply_pause = true;
  }

  void on_revoking(const std::vector<TopicPartition>& partitions, bool lost) override {
    const std::set<TopicPartition> going(partitions.begin(), partitions.end());
    // Their stalls end here: an item finishing later must not resume or start anything.
    for (const auto& p : partitions) stalls.erase(p);
    publish_stalls();
    if (mode == Mode::concurrent) {
      // Jobs still running must not make their effect: the next owner runs them again.
      for (const auto& [id, item] : jobs) {
        if (going.count(item->record.topic_partition())) item->abandon();
      }
      if (!lost) drain(going);
      forget_lanes_of(going);
    }
    // Clear our pause (a full window, a stall) while they are still assigned: librdkafka
    // keeps a partition's pause across an eager reassignment, and a resume sent while the
    // new assignment is applied was seen lost (the partition then never fetched again).
    consumer->resume(partitions);
    for (const auto& p : partitions) {
      // Only up to the lowest unfinished offset: a job still running after the drain
      // timeout is run again by the next owner (and sees `abandoned` here).
      if (!lost) store(p);
      offsets.revoke(p);
      forget_lag(p);
    }
  }

  ItemPtr admit(ConsumedRecord record) {
    if (record.timestamp_ms > 0) {
      const auto age_ms = core::to_unix_ms(core::now_ms()) - record.timestamp_ms;
      record_age_histogram->Observe(static_cast<double>(std::max<std::int64_t>(0, age_ms)) / 1000.0);
    }
    auto item = std::make_shared<Item>();
    item->epoch = offsets.admit(record.topic_partition(), record.offset);
    item->record = std::move(record);
    decode(*item);
    ++in_flight;
    in_flight_gauge->Set(static_cast<double>(in_flight));
    return item;
  }

  void decode(Item& item) {
    auto event = event_of(item.record, options);
    if (!event) {
      item.decode_failure = Outcome::fail("paypipe.events.UndecodableRecord", event.error().message);
      return;
    }
    const int version = event->dataschema.empty() ? 0 : SchemaRegistry::version_of(event->dataschema);
    if (auto valid = SchemaRegistry::builtin().validate(event->type, event->data, version); !valid) {
      item.decode_failure = Outcome::fail("paypipe.events.SchemaViolation", valid.error().message);
      return;
    }
    item.decoded = ConsumedEvent{std::move(event).value(),
                                 item.record.topic,
                                 item.record.partition,
                                 item.record.offset,
                                 attempt_of(item.record.headers),
                                 1,
                                 false,
                                 item.abandoned};
  }

  bool current(const Item& item) const { return offsets.current(item.record.topic_partition(), item.epoch); }

  void store(const TopicPartition& tp) {
    const auto offset = offsets.committable(tp);
    if (!offset) return;
    if (auto s = consumer->store_offset(tp, *offset); !s) {
      core::log::warn({{lk::group, consumer->group_id()},
                       {lk::topic, tp.topic},
                       {lk::partition, tp.partition},
                       {lk::offset, *offset}},
                      "cannot store offset: {}", s.error().message);
      return;
    }
    offsets.stored(tp, *offset);
  }

  // The item no longer counts against the window (finished, abandoned or stale).
  void release(Item& item) {
    if (!item.counted) return;
    item.counted = false;
    --in_flight;
    in_flight_gauge->Set(static_cast<double>(in_flight));
  }

  // The record's work is durable (or it was dead-lettered): its offset may be stored.
  void finish(const ItemPtr& item, const char* outcome) {
    release(*item);
    poll_to_done_histogram->Observe(std::chrono::duration<double>(Clock::now() - item->polled_at).count());
    metrics.records.Add({{"group", group}, {"outcome", outcome}}).Increment();
    const auto tp = item->record.topic_partition();
    if (offsets.finish(tp, item->record.offset, item->epoch)) store(tp);
  }

  OutgoingRecord dead_letter_of(const Item& item, const Outcome& outcome) const {
    const int attempt = item.decoded ? item.decoded->attempt : attempt_of(item.record.headers);
    return dead_letter_record(item.record, outcome, group, dlq_topic_name, attempt, core::now_ms());
  }

  void count_dead_letter(const Outcome& outcome) {
    metrics.dead_letters.Add({{"group", group}, {"error_class", outcome.error_class}}).Increment();
    core::log::warn({{lk::group, group}}, "dead-lettering a record: {}: {}", outcome.error_class, outcome.message);
  }

  // ---------------------------------------------------------------- infrastructure stalls

  // The record failed on the infrastructure: its partition waits it out in place.
  // Returns the wait before the next try.
  milliseconds wait_out(Item& item, const Outcome& outcome) {
    --item.tries;  // not the record's fault: does not use up its attempts
    ++item.infrastructure_tries;
    const auto tp = item.record.topic_partition();
    auto& stall = stalls[tp];
    if (!item.stalled) {
      item.stalled = true;
      ++stall.records;
    }
    stall.error = core::make_error(core::ErrorCategory::unavailable, outcome.error_class, outcome.message);
    publish_stalls();
    infrastructure_retries->Increment();
    if (item.infrastructure_tries == 1 || item.infrastructure_tries % 20 == 0) {
      core::log::warn(
          {{lk::group, group}, {lk::topic, tp.topic}, {lk::partition, tp.partition}, {lk::offset, item.record.offset}},
          "partition stops at this offset until the infrastructure is back (try {}): {}: {}", item.infrastructure_tries,
          outcome.error_class, outcome.message);
    }
    return settings.infrastructure_backoff.delay(item.infrastructure_tries);
  }

  // The record got past its infrastructure failure (whatever its outcome now). True if
  // its partition is no longer stalled.
  bool unstall(Item& item) {
    if (!item.stalled) return false;
    item.stalled = false;
    const auto tp = item.record.topic_partition();
    const auto it = stalls.find(tp);
    if (it == stalls.end() || !current(item)) return false;
    if (--it->second.records > 0) return false;
    stalls.erase(it);
    publish_stalls();
    core::log::info({{lk::group, group}, {lk::topic, tp.topic}, {lk::partition, tp.partition}},
                    "partition goes on: the infrastructure is back");
    return true;
  }

  bool is_stalled(const TopicPartition& tp) const { return stalls.count(tp) != 0; }

  void publish_stalls() {
    stalled_gauge->Set(static_cast<double>(stalls.size()));
    std::lock_guard lock(stall_mutex);
    if (stalls.empty()) stall_snapshot.reset();
    else stall_snapshot = stalls.begin()->second.error;
  }

  // ---------------------------------------------------------------- batch mode

  void run_batch_loop() {
    std::vector<ItemPtr> batch;
    while (!stop_requested) {
      heartbeat();
      batch.clear();
      // Records polled while the previous batch waited out an outage come first.
      while (!carried.empty() && batch.size() < settings.batch_size) {
        batch.push_back(std::move(carried.front()));
        carried.pop_front();
      }
      if (batch.empty()) {
        const auto first = consumer->poll(milliseconds(0));
        if (!first) {
          report_lag();
          consumer->wait(milliseconds(200));
          continue;
        }
        batch.push_back(admit(*first));
      }
      const auto linger_until = Clock::now() + settings.batch_linger;
      while (batch.size() < settings.batch_size) {
        auto next = consumer->poll(milliseconds(0));
        if (!next) {
          const auto left = std::chrono::duration_cast<milliseconds>(linger_until - Clock::now());
          if (left.count() <= 0) break;
          consumer->wait(left);
          next = consumer->poll(milliseconds(0));
          if (!next) break;
        }
        batch.push_back(admit(*next));
      }
      process_batch(batch);
    }
  }

  // Runs the handler over the decodable items, retries in place (infrastructure
  // failures for as long as they last), dead-letters the rest, then stores offsets in
  // order. The poll thread stays here until the batch is done: no later record of any
  // partition is applied before it.
  void process_batch(const std::vector<ItemPtr>& batch) {
    std::vector<ItemPtr> todo;
    std::vector<std::pair<ItemPtr, Outcome>> failed;
    std::set<const Item*> unfinished;  // stopping or revoked mid-retry: redelivered later
    for (const auto& item : batch) {
      if (item->decoded) todo.push_back(item);
      else failed.emplace_back(item, item->decode_failure);
    }
    bool paused_for_stall = false;
    while (!todo.empty()) {
      // A rebalance while waiting took some partitions away: their next owner has them.
      std::erase_if(todo, [&](const ItemPtr& item) {
        if (current(*item)) return false;
        unfinished.insert(item.get());
        return true;
      });
      if (todo.empty()) break;
      for (const auto& item : todo) ++item->tries;
      const auto outcomes = call_batch_handler(todo);
      std::vector<ItemPtr> again;
      std::optional<milliseconds> hint;
      int retry_round = 0;
      std::size_t retried = 0;
      std::optional<milliseconds> infrastructure_wait;
      for (std::size_t i = 0; i < todo.size(); ++i) {
        const auto& item = todo[i];
        const auto& outcome = outcomes[i];
        if (outcome.kind == Outcome::Kind::infrastructure) {
          if (stop_requested) {
            unfinished.insert(item.get());
            continue;
          }
          const auto wait = wait_out(*item, outcome);
          infrastructure_wait = std::max(infrastructure_wait.value_or(milliseconds(0)), wait);
          again.push_back(item);
          continue;
        }
        unstall(*item);
        if (outcome.kind == Outcome::Kind::success) continue;
        if (outcome.kind == Outcome::Kind::retryable && settings.retry.allows_another(item->tries)) {
          if (stop_requested) {
            unfinished.insert(item.get());
            continue;
          }
          again.push_back(item);
          ++retried;
          retry_round = std::max(retry_round, item->tries);
          if (outcome.retry_after) hint = std::max(hint.value_or(milliseconds(0)), *outcome.retry_after);
        } else {
          failed.emplace_back(item, outcome);
        }
      }
      todo = std::move(again);
      if (todo.empty()) break;
      if (retried > 0) metrics.retries.Add({{"group", group}}).Increment(static_cast<double>(retried));
      const auto wait = std::max(retry_round > 0 ? settings.retry.delay(retry_round, hint) : milliseconds(0),
                                 infrastructure_wait.value_or(milliseconds(0)));
      if (infrastructure_wait) {
        paused_for_stall = true;
        wait_polling(wait);
      } else {
        interruptible_sleep(wait);
      }
    }
    if (paused_for_stall && !stop_requested) consumer->resume(consumer->assignment());
    std::set<const Item*> dead;
    for (auto& [item, outcome] : failed) {
      count_dead_letter(outcome);
      if (publish_dead_letter_blocking(*item, outcome)) dead.insert(item.get());
      else unfinished.insert(item.get());
    }
    // An unfinished record holds back the stored offset of every later record of its
    // partition (OffsetTracker), so all of them are redelivered.
    for (const auto& item : batch) {
      if (unfinished.count(item.get())) release(*item);
      else finish(item, dead.count(item.get()) ? "dead_lettered" : "success");
    }
  }

  // Waits `duration` while polling Kafka with every partition paused: the consumer
  // serves rebalances and stays in the group (max.poll.interval.ms) for as long as an
  // outage lasts. A record that still arrives (prefetched, or from a partition just
  // assigned) is kept for the next batch.
  void wait_polling(milliseconds duration) {
    const auto until = Clock::now() + duration;
    while (!stop_requested) {
      consumer->pause(consumer->assignment());  // again after a rebalance: new partitions start unpaused
      heartbeat();
      if (auto record = consumer->poll(milliseconds(0))) {
        carried.push_back(admit(std::move(*record)));
        continue;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
      if (left.count() <= 0) return;
      consumer->wait(std::min(left, milliseconds(100)));
    }
  }

  std::vector<Outcome> call_batch_handler(const std::vector<ItemPtr>& items) {
    std::vector<ConsumedEvent> events;
    events.reserve(items.size());
    for (const auto& item : items) {
      events.push_back(*item->decoded);
      events.back().try_number = item->tries;
      events.back().last_try = !settings.retry.allows_another(item->tries);
    }
    const auto started = Clock::now();
    std::vector<Outcome> outcomes;
    {
      // One trace per batch: the first event's, so a batch of one is fully traced.
      auto trace = core::TraceContext::parse(events.front().event.traceparent);
      core::TraceScope scope(trace ? trace->child() : core::TraceContext::generate());
      const core::log::Scope fields({{lk::group, group}});
      try {
        outcomes = batch_handler(events);
      } catch (const std::exception& e) {
        spdlog::error("handler threw: {}", e.what());
        outcomes.assign(events.size(), Outcome::retry("paypipe.events.HandlerException", e.what()));
      }
    }
    metrics.handler_seconds.Add({{"group", group}}, core::metrics::latency_buckets())
        .Observe(std::chrono::duration<double>(Clock::now() - started).count());
    if (outcomes.size() != events.size()) {
      core::log::error({{lk::group, group}}, "handler returned {} outcomes for {} events", outcomes.size(),
                       events.size());
      outcomes.assign(events.size(), Outcome::retry("paypipe.events.HandlerContract", "wrong number of outcomes"));
    }
    return outcomes;
  }

  // Sends the dead letter and waits for Kafka's acknowledgement; retries until it
  // succeeds or the runtime stops (then returns false and the record stays unfinished).
  bool publish_dead_letter_blocking(const Item& item, const Outcome& outcome) {
    static const RetryPolicy until_sent{0, milliseconds(200), 2.0, milliseconds(5000)};
    ConsumerWaitClock clock{*this};
    const auto status = retry(
        until_sent, stop_requested,
        [&] {
          return Attempt<void>::again_on_any_error(
              producer->send_and_wait(dead_letter_of(item, outcome), milliseconds(35000)));
        },
        [&](const RetryEvent& e) {
          core::log::error({{lk::group, group}}, "dead-letter publish failed (attempt {}): {}", e.attempt,
                           e.error.message);
        },
        clock);
    return status.ok();
  }

  // retry()'s waits on the consumer, so a stop (which wakes it) ends them at once.
  struct ConsumerWaitClock final : RetryClock {
    explicit ConsumerWaitClock(Impl& runtime) : runtime(runtime) {}
    Clock::time_point now() override { return Clock::now(); }
    void sleep(milliseconds duration, const StopFlag&) override { runtime.interruptible_sleep(duration); }
    Impl& runtime;
  };

  void interruptible_sleep(milliseconds duration) {
    const auto until = Clock::now() + duration;
    while (!stop_requested) {
      const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
      if (left.count() <= 0) return;
      consumer->wait(std::min(left, milliseconds(200)));
    }
  }

  // ---------------------------------------------------------------- concurrent mode
  // Which record runs when is LaneScheduler's (pure, unit-tested); this part runs the
  // handler, its timers and its dead letters around it.

  static std::string lane_of(const ConsumedRecord& record) {
    return record.topic + '/' + std::to_string(record.partition) + '/' + record.key.value_or(std::string{});
  }

  void run_concurrent_loop() {
    while (!stop_requested) {
      heartbeat();
      process_completions();
      fire_due_timers();
      bool polled_any = false;
      // Take what is queued, up to the window.
      while (!stop_requested && !lanes.full()) {
        auto record = consumer->poll(milliseconds(0));
        if (!record) break;
        polled_any = true;
        enqueue(admit(std::move(*record)));
      }
      if (reapply_pause) {
        reapply_pause = false;
        if (paused) consumer->pause(consumer->assignment());
      }
      apply_backpressure();
      report_lag();
      if (!polled_any) consumer->wait(next_wait());
      // While paused, poll anyway: it serves rebalances and keeps the group membership.
      if (paused) {
        if (auto record = consumer->poll(milliseconds(0))) enqueue(admit(std::move(*record)));
      }
    }
  }

  milliseconds next_wait() const {
    milliseconds wait(200);
    if (!timers.empty()) {
      const auto until = std::chrono::duration_cast<milliseconds>(timers.top().due - Clock::now());
      wait = std::clamp(until, milliseconds(0), wait);
    }
    return wait;
  }

  // A full window first only stops taking records: librdkafka keeps what it prefetched
  // and the next completion takes more at once. Pausing would drop the prefetched
  // records, and a resumed partition waits for its next fetch (about a second with
  // librdkafka 2.0): that capped notification-sender at one window per second. So only a
  // window that stays full (a stuck downstream) pauses, to keep polling for rebalances.
  static constexpr milliseconds pause_after{1000};

  void apply_backpressure() {
    if (!lanes.full()) {
      window_full_since.reset();
      if (paused && lanes.size() <= settings.max_in_flight / 2) {
        resume_unstalled(consumer->assignment());
        paused = false;
      }
      return;
    }
    const auto now = Clock::now();
    if (!window_full_since) window_full_since = now;
    if (!paused && now - *window_full_since >= pause_after) {
      consumer->pause(consumer->assignment());
      paused = true;
    }
  }

  // Resumes `partitions` except those waiting out an infrastructure failure.
  void resume_unstalled(std::vector<TopicPartition> partitions) {
    std::erase_if(partitions, [&](const TopicPartition& tp) { return is_stalled(tp); });
    consumer->resume(partitions);
  }

  void enqueue(const ItemPtr& item) {
    item->id = next_job_id++;
    item->lane = lane_of(item->record);
    jobs[item->id] = item;
    // A held (stalled) partition starts nothing new: its records stay in order behind
    // the one waiting out the outage.
    if (lanes.push(item->id, item->lane, item->record.topic_partition())) start(item);
  }

  // The item leaves the scheduler without finishing: redelivered later.
  void drop_job(LaneScheduler::Id id) {
    const auto it = jobs.find(id);
    if (it == jobs.end()) return;
    release(*it->second);
    jobs.erase(it);
  }

  void start(const ItemPtr& item) {
    lanes.run(item->id);
    if (!item->decoded) {
      dead_letter_async(item, item->decode_failure);
      return;
    }
    ++item->tries;
    item->decoded->try_number = item->tries;
    item->decoded->last_try = !settings.retry.allows_another(item->tries);
    auto trace = core::TraceContext::parse(item->decoded->event.traceparent);
    core::TraceScope scope(trace ? trace->child() : core::TraceContext::generate());
    const core::log::Scope fields({{lk::group, group},
                                   {lk::topic, item->record.topic},
                                   {lk::partition, item->record.partition},
                                   {lk::offset, item->record.offset},
                                   {lk::event_id, item->decoded->event.id},
                                   {lk::event_type, item->decoded->event.type}});
    auto* histogram = &metrics.handler_seconds.Add({{"group", group}}, core::metrics::latency_buckets());
    auto done = [sink = sink, item, histogram, started = Clock::now()](Outcome outcome) {
      histogram->Observe(std::chrono::duration<double>(Clock::now() - started).count());
      sink->push(Completion{item, std::move(outcome), false, {}});
    };
    try {
      async_handler(*item->decoded, std::move(done));
    } catch (const std::exception& e) {
      spdlog::error("handler threw: {}", e.what());
      sink->push(Completion{item, Outcome::retry("paypipe.events.HandlerException", e.what()), false, {}});
    }
  }

  void backoff(const ItemPtr& item, milliseconds delay) {
    lanes.wait(item->id);
    timers.push(Timer{Clock::now() + delay, item});
  }

  void process_completions() {
    for (auto& c : sink->take()) {
      // Its partition was revoked or lost meanwhile, or the item was released.
      if (!current(*c.item) || !lanes.contains(c.item->id)) {
        release(*c.item);
        continue;
      }
      if (c.dead_letter_ack) {
        if (c.dead_letter_status) {
          finish_in_lane(c.item, "dead_lettered");
        } else {
          core::log::error({{lk::group, group}}, "dead-letter publish failed: {}",
                           c.dead_letter_status.error().message);
          backoff(c.item, milliseconds(1000));  // try the dead letter again
        }
        continue;
      }
      const auto& outcome = c.outcome;
      const auto tp = c.item->record.topic_partition();
      if (outcome.kind == Outcome::Kind::infrastructure) {
        const auto wait = wait_out(*c.item, outcome);
        consumer->pause({tp});
        lanes.hold(tp);
        backoff(c.item, wait);
        continue;
      }
      if (unstall(*c.item)) resume_partition(tp);
      if (outcome.kind == Outcome::Kind::success) {
        finish_in_lane(c.item, "success");
      } else if (outcome.kind == Outcome::Kind::retryable && settings.retry.allows_another(c.item->tries)) {
        metrics.retries.Add({{"group", group}}).Increment();
        backoff(c.item, settings.retry.delay(c.item->tries, outcome.retry_after));
      } else {
        dead_letter_async(c.item, outcome);
      }
    }
    in_flight_gauge->Set(static_cast<double>(in_flight));
  }

  // A stall ended: fetch the partition again and start the records it held.
  void resume_partition(const TopicPartition& tp) {
    if (!paused) consumer->resume({tp});
    for (const auto id : lanes.release(tp)) start(jobs.at(id));
  }

  void fire_due_timers() {
    const auto now = Clock::now();
    while (!timers.empty() && timers.top().due <= now) {
      auto item = timers.top().item;
      timers.pop();
      if (!current(*item) || !lanes.contains(item->id)) {
        release(*item);
        continue;
      }
      if (item->dead_lettering || !item->decoded) {
        lanes.run(item->id);
        dead_letter_async(item, item->decode_failure);
      } else {
        start(item);
      }
    }
  }

  void dead_letter_async(const ItemPtr& item, const Outcome& outcome) {
    count_dead_letter(outcome);
    item->dead_lettering = true;
    item->decode_failure = outcome;  // what the dead letter says, also when it is sent again
    auto status = producer->send(dead_letter_of(*item, outcome), [sink = sink, item](const Delivery& delivery) {
      sink->push(Completion{item, {}, true, delivery.status});
    });
    if (!status) sink->push(Completion{item, {}, true, status});
  }

  void finish_in_lane(const ItemPtr& item, const char* outcome) {
    finish(item, outcome);
    const auto next = lanes.finish(item->id);
    jobs.erase(item->id);
    if (next) start(jobs.at(*next));
  }

  // Partitions are going away: drop what is not running, wait (bounded) for what runs.
  // A job still running at the deadline was told it is abandoned; its partition's
  // offset is stored only up to it.
  void drain(const std::set<TopicPartition>& going) {
    const auto in_going = [&](const TopicPartition& tp) { return going.count(tp) != 0; };
    for (const auto id : lanes.drop_idle(in_going)) drop_job(id);
    if (stop_requested) return;  // stop() waited for them already
    const auto deadline = Clock::now() + settings.revoke_drain_timeout;
    while (lanes.any_running(in_going) && Clock::now() < deadline) {
      consumer->wait(milliseconds(50));
      process_completions();
    }
  }

  void forget_lanes_of(const std::set<TopicPartition>& going) {
    // Jobs still running never finish here; their late completions are ignored as stale.
    for (const auto id : lanes.forget([&](const TopicPartition& tp) { return going.count(tp) != 0; })) drop_job(id);
    in_flight_gauge->Set(static_cast<double>(in_flight));
  }

  void stop_concurrent() {
    // Records waiting on a timer (a retry's backoff, an infrastructure wait) or behind
    // another are released at once, not committed past: redelivered after a restart.
    // Running handlers are told they are abandoned and waited for within the timeout.
    const auto all = [](const TopicPartition&) { return true; };
    while (!timers.empty()) timers.pop();
    for (const auto id : lanes.drop_idle(all)) drop_job(id);
    for (const auto& [id, item] : jobs) item->abandon();
    const auto deadline = Clock::now() + stop_timeout;
    while (lanes.any_running(all) && Clock::now() < deadline) {
      consumer->wait(milliseconds(50));
      process_completions_while_stopping();
    }
    for (const auto id : lanes.forget(all)) drop_job(id);  // the revoke on close has nothing to wait for
  }

  // On stop: finish what completes, start nothing new (each lane holds only its
  // running head now, so finishing it starts nothing; no retries).
  void process_completions_while_stopping() {
    for (auto& c : sink->take()) {
      if (!current(*c.item) || !lanes.contains(c.item->id)) continue;
      const bool done = c.dead_letter_ack ? c.dead_letter_status.ok() : c.outcome.kind == Outcome::Kind::success;
      if (done) finish(c.item, c.dead_letter_ack ? "dead_lettered" : "success");
      else release(*c.item);
      (void)lanes.finish(c.item->id);
      jobs.erase(c.item->id);
    }
  }

  // ---------------------------------------------------------------- the thread

  prometheus::Labels lag_labels(const TopicPartition& tp) const {
    return {{"group", group}, {"topic", tp.topic}, {"partition", std::to_string(tp.partition)}};
  }

  void report_lag() {
    const auto now = Clock::now();
    if (now < next_lag_report) return;
    next_lag_report = now + std::chrono::seconds(5);
    for (const auto& tp : offsets.partitions()) {
      if (const auto lag = consumer->lag(tp)) metrics.lag.Add(lag_labels(tp)).Set(static_cast<double>(*lag));
    }
  }

  // A partition's lag is its owner's to report: the series goes with the partition, or
  // the old owner's last value outlives it (and keeps a max-across-pods alert firing).
  void forget_lag(const TopicPartition& tp) {
    const auto labels = lag_labels(tp);
    if (metrics.lag.Has(labels)) metrics.lag.Remove(&metrics.lag.Add(labels));
  }

  void run() {
    pthread_setname_np(pthread_self(), "kafka-consumer");
    try {
      if (mode == Mode::batch) run_batch_loop();
      else run_concurrent_loop();
      if (mode == Mode::concurrent) stop_concurrent();
      for (const auto& item : carried) release(*item);  // never started: redelivered
      carried.clear();
      for (const auto& tp : offsets.partitions()) store(tp);
      if (auto s = consumer->commit(); !s) core::log::warn({{lk::group, group}}, "final commit: {}", s.error().message);
      consumer->close();
    } catch (const std::exception& e) {
      core::log::write(spdlog::level::critical, {{lk::group, group}}, "consumer loop failed: {}", e.what());
    }
    stalls.clear();
    publish_stalls();
    alive = false;
  }
};

ConsumerRuntime::ConsumerRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

core::Result<std::unique_ptr<ConsumerRuntime::Impl>> make_impl(const KafkaOptions& options, RuntimeSettings settings,
                                                               Producer& producer) {
  auto impl = std::make_unique<ConsumerRuntime::Impl>();
  impl->options = options;
  impl->group = settings.consumer.group;
  impl->dlq_topic_name = options.topic(dlq_topic(impl->group));
  if (settings.subscribe_retry_topic) settings.consumer.topics.push_back(retry_topic(impl->group));
  if (settings.batch_size == 0) settings.batch_size = 1;
  if (settings.max_in_flight == 0) settings.max_in_flight = 1;
  impl->settings = std::move(settings);
  impl->lanes = LaneScheduler(impl->settings.max_in_flight);
  impl->producer = &producer;
  impl->in_flight_gauge = &impl->metrics.in_flight.Add({{"group", impl->group}});
  impl->stalled_gauge = &impl->metrics.stalled_partitions.Add({{"group", impl->group}});
  impl->infrastructure_retries = &impl->metrics.infrastructure_retries.Add({{"group", impl->group}});
  impl->record_age_histogram = &impl->metrics.record_age_at_poll.Add({{"group", impl->group}},
                                                                     core::metrics::hop_buckets());
  impl->poll_to_done_histogram = &impl->metrics.poll_to_done.Add({{"group", impl->group}},
                                                                 core::metrics::hop_buckets());
  auto consumer = KafkaConsumer::create(options, impl->settings.consumer, impl.get());
  if (!consumer) return consumer.error();
  impl->consumer = std::move(consumer).value();
  impl->sink = std::make_shared<CompletionSink>(impl->consumer.get());
  return impl;
}

}  // namespace

core::Result<std::unique_ptr<ConsumerRuntime>> ConsumerRuntime::batch(const KafkaOptions& options,
                                                                      RuntimeSettings settings, Producer& producer,
                                                                      BatchHandler handler) {
  auto impl = make_impl(options, std::move(settings), producer);
  if (!impl) return impl.error();
  (*impl)->mode = Mode::batch;
  (*impl)->batch_handler = std::move(handler);
  return std::unique_ptr<ConsumerRuntime>(new ConsumerRuntime(std::move(impl).value()));
}

core::Result<std::unique_ptr<ConsumerRuntime>> ConsumerRuntime::concurrent(const KafkaOptions& options,
                                                                           RuntimeSettings settings, Producer& producer,
                                                                           AsyncHandler handler) {
  auto impl = make_impl(options, std::move(settings), producer);
  if (!impl) return impl.error();
  (*impl)->mode = Mode::concurrent;
  (*impl)->async_handler = std::move(handler);
  return std::unique_ptr<ConsumerRuntime>(new ConsumerRuntime(std::move(impl).value()));
}

ConsumerRuntime::~ConsumerRuntime() {
  stop();
  impl_->sink->close();  // callbacks still pending find it closed
}

core::Status ConsumerRuntime::start() {
  if (auto s = impl_->consumer->subscribe(); !s) return s;
  impl_->heartbeat();
  impl_->alive = true;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  return {};
}

void ConsumerRuntime::stop(std::chrono::milliseconds timeout) {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->stop_timeout = timeout;
  impl_->stop_requested = true;
  impl_->consumer->wake();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool ConsumerRuntime::running() const { return impl_->alive; }

std::chrono::steady_clock::time_point ConsumerRuntime::last_poll() const {
  return Clock::time_point(Clock::duration(impl_->last_poll_ticks.load(std::memory_order_relaxed)));
}

std::optional<core::Error> ConsumerRuntime::stalled_on() const {
  std::lock_guard lock(impl_->stall_mutex);
  return impl_->stall_snapshot;
}

const std::string& ConsumerRuntime::group_id() const { return impl_->consumer->group_id(); }

}  // namespace paypipe::events
