// The consumer runtime under the faults production meets: the database unavailable
// (waited out in place, never dead-lettered), stop with a record in backoff, and a
// second member joining while jobs are in flight.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/metrics.hpp"
#include "events/consumer.hpp"
#include "events/consumer_runtime.hpp"
#include "helpers.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// The infrastructure backoff quick too: these tests wait it out many times.
events::RuntimeSettings settings_for(const std::string& group) {
  auto s = testing::settings_for(group);
  s.infrastructure_backoff = events::RetryPolicy{0, 10ms, 2.0, 50ms};
  return s;
}

const core::Error pg_down = core::make_error(core::ErrorCategory::unavailable, "pg-connect",
                                             "cannot connect to PostgreSQL: refused");

// The value of a counter or gauge of `group` in the metrics exposition (0 if absent).
double metric(const std::string& name, const std::string& group) {
  const auto text = core::metrics::serialize();
  const auto needle = name + "{group=\"" + group + "\"}";
  const auto at = text.find(needle);
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + needle.size() + 1));
}

// The partitions of `group` that have a consumer_lag series in the metrics exposition.
std::set<std::string> lag_series(const std::string& group) {
  std::set<std::string> partitions;
  std::istringstream lines(core::metrics::serialize());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("consumer_lag{", 0) != 0 || line.find("group=\"" + group + "\"") == std::string::npos) continue;
    const auto at = line.find("partition=\"");
    if (at == std::string::npos) continue;
    const auto from = at + std::string("partition=\"").size();
    partitions.insert(line.substr(from, line.find('"', from) - from));
  }
  return partitions;
}

// Records what a plain group member owns.
struct Assignment : events::RebalanceListener {
  std::set<int> partitions;
  void on_assigned(const std::vector<events::TopicPartition>& added) override {
    for (const auto& p : added) partitions.insert(p.partition);
  }
  void on_revoking(const std::vector<events::TopicPartition>& going, bool) override {
    for (const auto& p : going) partitions.erase(p.partition);
  }
};

}  // namespace

TEST_CASE("batch: a record failing with the database unavailable is retried in place, in order, never dead-lettered") {
  testing::KafkaFixture kafka({"payment.completed", "retry.infra-batch", "dlq.infra-batch"}, 1);
  const auto key = core::new_uuid_v7();
  std::vector<std::string> sent;
  for (int i = 0; i < 4; ++i) {
    auto e = kafka.payment_completed(key, i);
    sent.push_back(e.id);
    kafka.send(e);
  }
  kafka.flush();
  const auto blocked = sent[1];
  const int failures = 6;  // more than the 3 attempts the retry policy gives a record

  std::mutex mutex;
  std::vector<std::string> applied;
  int blocked_calls = 0;
  std::optional<core::Error> seen_stall;
  events::ConsumerRuntime* self = nullptr;
  auto runtime = events::ConsumerRuntime::batch(
      kafka.options, settings_for("infra-batch"), *kafka.producer, [&](std::span<const events::ConsumedEvent> batch) {
        std::lock_guard lock(mutex);
        // As a database handler does: one transaction for the batch, all or nothing.
        for (const auto& e : batch) {
          if (e.event.id == blocked && ++blocked_calls <= failures) {
            if (blocked_calls == failures && self) seen_stall = self->stalled_on();
            return std::vector<events::Outcome>(batch.size(), events::outcome_for(pg_down, "infra-batch"));
          }
        }
        for (const auto& e : batch) applied.push_back(e.event.id);
        return std::vector<events::Outcome>(batch.size(), events::Outcome::ok());
      });
  REQUIRE(runtime.ok());
  self = runtime->get();
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return applied.size() >= sent.size();
      },
      30s));
  CHECK_FALSE((*runtime)->stalled_on());  // cleared once the record went through
  CHECK(std::chrono::steady_clock::now() - (*runtime)->last_poll() < 2s);
  const auto dead = testing::read_topic(kafka.options, kafka.options.topic("dlq.infra-batch"), 1, 3s);
  (*runtime)->stop();
  std::lock_guard lock(mutex);
  CHECK(applied == sent);  // each once, the blocked one before the records after it
  CHECK(dead.empty());
  REQUIRE(seen_stall);
  CHECK(seen_stall->code == "paypipe.infra-batch.PgConnect");
  CHECK(metric("consumer_infrastructure_retries_total", "infra-batch") >= failures);
  CHECK(metric("consumer_stalled_partitions", "infra-batch") == 0);
}

TEST_CASE(
    "concurrent: the database unavailable stops the record's partition in place; an outside failure still "
    "dead-letters") {
  testing::KafkaFixture kafka({"payment.completed", "retry.infra-async", "dlq.infra-async"}, 1);
  const auto key = core::new_uuid_v7();
  const auto other_key = core::new_uuid_v7();
  std::vector<std::string> sent;
  for (int i = 0; i < 4; ++i) {
    auto e = kafka.payment_completed(key, i);
    sent.push_back(e.id);
    kafka.send(e);
  }
  const auto outside = kafka.payment_completed(other_key, 9);  // a Telegram 5xx, every try
  kafka.send(outside);
  kafka.flush();
  const auto blocked = sent[0];
  const int failures = 8;

  std::mutex mutex;
  std::vector<std::string> applied;
  std::atomic<int> blocked_calls{0}, outside_calls{0};
  std::optional<core::Error> seen_stall;
  events::ConsumerRuntime* self = nullptr;
  auto runtime = events::ConsumerRuntime::concurrent(
      kafka.options, settings_for("infra-async"), *kafka.producer,
      [&](const events::ConsumedEvent& e, events::OutcomeCallback done) {
        if (e.event.id == outside.id) {
          ++outside_calls;
          return done(events::Outcome::retry("paypipe.test.TelegramUnavailable", "502"));
        }
        if (e.event.id == blocked && ++blocked_calls <= failures) {
          if (blocked_calls == failures && self) {
            std::lock_guard lock(mutex);
            seen_stall = self->stalled_on();
          }
          return done(events::outcome_for(pg_down, "infra-async"));
        }
        {
          std::lock_guard lock(mutex);
          applied.push_back(e.event.id);
        }
        done(events::Outcome::ok());
      });
  REQUIRE(runtime.ok());
  self = runtime->get();
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return applied.size() >= sent.size();
      },
      30s));
  // Asks for two: only one may come.
  const auto dead = testing::read_topic(kafka.options, kafka.options.topic("dlq.infra-async"), 2, 5s);
  CHECK_FALSE((*runtime)->stalled_on());
  (*runtime)->stop();
  std::lock_guard lock(mutex);
  CHECK(applied == sent);
  CHECK(blocked_calls.load() == failures + 1);
  REQUIRE(dead.size() == 1);  // only the outside failure, after its 3 attempts
  CHECK(*events::find_header(dead[0].headers, "ce_id") == outside.id);
  CHECK(outside_calls.load() == 3);
  REQUIRE(seen_stall);
  CHECK(seen_stall->code == "paypipe.infra-async.PgConnect");
}

TEST_CASE("stop releases a record waiting in backoff at once, without committing past it") {
  testing::KafkaFixture kafka({"payment.completed", "retry.backoff-stop", "dlq.backoff-stop"}, 1);
  const auto waiting = kafka.payment_completed(core::new_uuid_v7());
  kafka.send(waiting);
  kafka.flush();
  auto settings = settings_for("backoff-stop");
  settings.retry = events::RetryPolicy{3, 60s, 2.0, 60s};  // a long backoff (a 429's Retry-After)
  std::atomic<int> calls{0};
  auto failing = [&](const events::ConsumedEvent&, events::OutcomeCallback done) {
    ++calls;
    done(events::Outcome::retry("paypipe.test.RateLimited", "429"));
  };
  const double retries_before = metric("consumer_retries_total", "backoff-stop");
  {
    auto runtime = events::ConsumerRuntime::concurrent(kafka.options, settings, *kafka.producer, failing);
    REQUIRE(runtime.ok());
    REQUIRE((*runtime)->start().ok());
    // The runtime took the failure and put the record on its backoff timer.
    REQUIRE(
        testing::eventually([&] { return metric("consumer_retries_total", "backoff-stop") > retries_before; }, 30s));
    const auto started = std::chrono::steady_clock::now();
    (*runtime)->stop(5s);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    CHECK(calls.load() == 1);
  }
  // Not committed past: the same group gets the record again.
  std::atomic<int> redelivered{0};
  auto runtime = events::ConsumerRuntime::concurrent(kafka.options, settings, *kafka.producer,
                                                     [&](const events::ConsumedEvent& e, events::OutcomeCallback done) {
                                                       if (e.event.id == waiting.id) ++redelivered;
                                                       done(events::Outcome::ok());
                                                     });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  CHECK(testing::eventually([&] { return redelivered.load() == 1; }, 30s));
  (*runtime)->stop();
}

TEST_CASE("a member joining while jobs run: an abandoned job makes no effect, each record's effect happens once") {
  testing::KafkaFixture kafka({"payment.completed", "retry.joiners", "dlq.joiners"}, 6);
  std::set<std::string> sent;
  for (int i = 0; i < 30; ++i) {
    auto e = kafka.payment_completed(core::new_uuid_v7(), i);
    sent.insert(e.id);
    kafka.send(e);
  }
  kafka.flush();

  std::mutex mutex;
  std::condition_variable second_started;
  bool second_running = false;
  std::map<std::string, int> effects;      // per event id
  std::map<std::string, int> running;      // jobs of an event id running now
  std::map<std::string, int> max_running;  // the most at once
  int abandoned = 0;
  std::vector<std::thread> workers;
  auto slow_job = [&](bool second) {
    return [&, second](const events::ConsumedEvent& e, events::OutcomeCallback done) {
      std::lock_guard lock(mutex);
      if (second && !second_running) {
        second_running = true;
        second_started.notify_all();
      }
      const int now = ++running[e.event.id];
      max_running[e.event.id] = std::max(max_running[e.event.id], now);
      // A slow job, like a Telegram call held by Retry-After: the first member's jobs
      // are still running when the second member takes partitions over.
      workers.emplace_back([&, e, done = std::move(done)] {
        std::unique_lock l(mutex);
        second_started.wait_for(l, 10s, [&] { return second_running; });
        l.unlock();
        std::this_thread::sleep_for(200ms);
        l.lock();
        --running[e.event.id];
        if (e.is_abandoned()) {  // the partition moved: the next owner runs it
          ++abandoned;
          return done(events::Outcome::retry("paypipe.test.Abandoned", "revoked"));
        }
        ++effects[e.event.id];
        done(events::Outcome::ok());
      });
    };
  };
  auto settings = settings_for("joiners");
  settings.max_in_flight = 8;
  settings.revoke_drain_timeout = 300ms;  // shorter than the jobs

  auto first = events::ConsumerRuntime::concurrent(kafka.options, settings, *kafka.producer, slow_job(false));
  REQUIRE(first.ok());
  REQUIRE((*first)->start().ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return !running.empty();
      },
      30s));
  auto second = events::ConsumerRuntime::concurrent(kafka.options, settings, *kafka.producer, slow_job(true));
  REQUIRE(second.ok());
  REQUIRE((*second)->start().ok());
  const bool all = testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return effects.size() == sent.size();
      },
      60s, 100ms);
  (*second)->stop();
  (*first)->stop();
  {
    std::lock_guard lock(mutex);
    second_running = true;  // nothing waits for a second member any more
    second_started.notify_all();
  }
  for (auto& w : workers) w.join();
  std::lock_guard lock(mutex);
  CHECK(all);
  int twice = 0;
  for (const auto& id : sent) {
    INFO(id);
    CHECK(effects[id] >= 1);
    if (effects[id] > 1) ++twice;
  }
  CHECK(twice == 0);
  CHECK(abandoned > 0);  // the join did move partitions while their jobs ran
  for (const auto& [id, most] : max_running) {
    // Two jobs of one record overlap only while the old one is abandoned: it then makes no effect.
    if (most > 1) CHECK(effects[id] == 1);
  }
}

TEST_CASE("a revoked partition's consumer_lag series goes: no stale value from an old owner") {
  testing::KafkaFixture kafka({"payment.completed"}, 2);
  for (int i = 0; i < 20; ++i) kafka.send(kafka.payment_completed(core::new_uuid_v7(), i));
  kafka.flush();
  auto settings = settings_for("lag-revoke");
  settings.subscribe_retry_topic = false;
  auto runtime = events::ConsumerRuntime::batch(
      kafka.options, settings, *kafka.producer, [](std::span<const events::ConsumedEvent> batch) {
        return std::vector<events::Outcome>(batch.size(), events::Outcome::ok());
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  // Alone in the group: both partitions are its own and reported.
  REQUIRE(testing::eventually([] { return lag_series("lag-revoke").size() == 2; }, 30s, 100ms));

  // A second member takes one partition over; it exports no lag of its own here, so a
  // series left for its partition could only be the first member's stale value.
  Assignment taken;
  events::ConsumerSettings member;
  member.group = "lag-revoke";
  member.topics = {"payment.completed"};
  auto second = events::KafkaConsumer::create(kafka.options, member, &taken);
  REQUIRE(second.ok());
  REQUIRE((*second)->subscribe().ok());
  const bool moved = testing::eventually(
      [&] {
        (void)(*second)->poll(100ms);
        return taken.partitions.size() == 1;
      },
      30s, 10ms);
  REQUIRE(moved);
  const auto theirs = std::to_string(*taken.partitions.begin());
  const bool gone = testing::eventually(
      [&] {
        (void)(*second)->poll(100ms);
        return lag_series("lag-revoke").count(theirs) == 0;
      },
      15s, 10ms);
  INFO("partition " << theirs << " moved to the second member");
  CHECK(gone);
  CHECK(lag_series("lag-revoke").size() == 1);  // the partition it kept is still reported
  (*runtime)->stop();
}
