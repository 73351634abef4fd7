#include <catch2/catch.hpp>

#include <mutex>
#include <set>

#include "events/consumer_runtime.hpp"
#include "helpers.hpp"
#include "support/metrics.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("events published with the producer are consumed once each, in order per key, and committed") {
  testing::KafkaFixture kafka({"payment.completed", "retry.g", "dlq.g"});
  std::vector<std::string> order_ids;
  for (int i = 0; i < 10; ++i) order_ids.push_back(core::new_uuid_v7());
  std::vector<std::string> sent;
  for (int round = 0; round < 20; ++round) {
    for (const auto& id : order_ids) {
      auto e = kafka.payment_completed(id, round);
      sent.push_back(e.id);
      kafka.send(e);
    }
  }
  kafka.flush();
  const auto hops = [](const std::string& name) { return testing::metric_value(name, {{"group", "g"}}).value_or(0); };
  const double polled_before = hops("consumer_record_age_at_poll_seconds");
  const double done_before = hops("consumer_poll_to_done_seconds");
  const double committed_before = hops("consumer_commit_delay_seconds");

  std::mutex mutex;
  std::map<std::string, std::vector<std::int64_t>> per_key;
  std::set<std::string> seen;
  events::RuntimeSettings settings;
  settings.consumer.group = "g";
  settings.consumer.topics = {"payment.completed"};
  settings.batch_size = 16;
  auto handler = [&](std::span<const events::ConsumedEvent> batch) {
    std::lock_guard lock(mutex);
    for (const auto& e : batch) {
      auto doc = core::json::parse(e.event.data);
      per_key[e.event.key].push_back((*doc)["amount"].GetInt64());
      seen.insert(e.event.id);
      CHECK(e.attempt == 1);
      CHECK(e.event.type == "dev.paypipe.payment.completed.v1");
    }
    return std::vector<events::Outcome>(batch.size(), events::Outcome::ok());
  };
  {
    auto runtime = events::ConsumerRuntime::batch(kafka.options, settings, *kafka.producer, handler);
    REQUIRE(runtime.ok());
    REQUIRE((*runtime)->start().ok());
    REQUIRE(testing::eventually(
        [&] {
          std::lock_guard l(mutex);
          return seen.size() == sent.size();
        },
        30s));
    // The stored offsets are committed by the next auto-commit (every second).
    CHECK(testing::eventually([&] { return hops("consumer_commit_delay_seconds") > committed_before; }, 10s));
    (*runtime)->stop();
  }
  for (const auto& [key, amounts] : per_key) {
    INFO(key);
    CHECK(std::is_sorted(amounts.begin(), amounts.end()));
    CHECK(amounts.size() == 20);
  }
  // Each record's hops were measured: its age at the poll and the poll to its work done.
  CHECK(hops("consumer_record_age_at_poll_seconds") - polled_before >= static_cast<double>(sent.size()));
  CHECK(hops("consumer_poll_to_done_seconds") - done_before >= static_cast<double>(sent.size()));

  // The offsets were committed: the same group starts after the last record.
  seen.clear();
  auto again = events::ConsumerRuntime::batch(kafka.options, settings, *kafka.producer, handler);
  REQUIRE(again.ok());
  REQUIRE((*again)->start().ok());
  auto extra = kafka.payment_completed(order_ids[0], 99);
  kafka.send(extra);
  kafka.flush();
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return seen.count(extra.id) == 1;
      },
      30s));
  (*again)->stop();
  std::lock_guard lock(mutex);
  CHECK(seen.size() == 1);
}

TEST_CASE("the concurrent runtime keeps order per key while keys run in parallel, within the window") {
  testing::KafkaFixture kafka({"payment.completed", "retry.c", "dlq.c"});
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back(core::new_uuid_v7());
  for (int round = 0; round < 10; ++round) {
    for (const auto& k : keys) kafka.send(kafka.payment_completed(k, round));
  }
  kafka.flush();

  std::mutex mutex;
  std::map<std::string, std::vector<std::int64_t>> per_key;
  std::atomic<int> running{0}, max_running{0}, done{0};
  std::vector<std::thread> workers;
  events::RuntimeSettings settings;
  settings.consumer.group = "c";
  settings.consumer.topics = {"payment.completed"};
  settings.max_in_flight = 8;
  auto runtime = events::ConsumerRuntime::concurrent(
      kafka.options, settings, *kafka.producer, [&](const events::ConsumedEvent& e, events::OutcomeCallback finish) {
        const int now = ++running;
        int seen_max = max_running.load();
        while (now > seen_max && !max_running.compare_exchange_weak(seen_max, now)) {
        }
        std::lock_guard lock(mutex);
        workers.emplace_back([&, e, finish = std::move(finish)] {
          std::this_thread::sleep_for(5ms);  // a slow outside call
          {
            std::lock_guard inner(mutex);
            per_key[e.event.key].push_back((*core::json::parse(e.event.data))["amount"].GetInt64());
          }
          --running;
          ++done;
          finish(events::Outcome::ok());
        });
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually([&] { return done.load() == 200; }, 60s));
  (*runtime)->stop();
  for (auto& w : workers) w.join();
  CHECK(max_running.load() > 1);   // keys ran in parallel
  CHECK(max_running.load() <= 8);  // never beyond the window
  for (const auto& [key, amounts] : per_key) {
    INFO(key);
    CHECK(amounts == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
}

TEST_CASE("a window that stays full pauses the partitions, and every record is handled once after it frees") {
  testing::KafkaFixture kafka({"payment.completed", "retry.c", "dlq.c"});
  std::vector<std::string> keys;
  for (int i = 0; i < 80; ++i) keys.push_back(core::new_uuid_v7());
  for (const auto& k : keys) kafka.send(kafka.payment_completed(k, 0));  // 80 keys: 8 in flight = 8 handlers
  kafka.flush();

  // The first window's records are held past the runtime's pause threshold (1 s), as a
  // stuck downstream would; then everything completes at once.
  std::mutex mutex;
  std::vector<events::OutcomeCallback> held;
  std::atomic<bool> release{false};
  std::map<std::string, int> handled;
  events::RuntimeSettings settings;
  settings.consumer.group = "c";
  settings.consumer.topics = {"payment.completed"};
  settings.max_in_flight = 8;
  auto runtime = events::ConsumerRuntime::concurrent(
      kafka.options, settings, *kafka.producer, [&](const events::ConsumedEvent& e, events::OutcomeCallback finish) {
        std::lock_guard lock(mutex);
        ++handled[e.event.id];
        if (!release) {
          held.push_back(std::move(finish));
          return;
        }
        finish(events::Outcome::ok());
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard lock(mutex);
        return held.size() == 8;
      },
      30s));
  const auto paused_by = std::chrono::steady_clock::now() + 1500ms;
  REQUIRE(testing::eventually([&] { return std::chrono::steady_clock::now() >= paused_by; }, 5s));
  {
    std::lock_guard lock(mutex);
    CHECK(handled.size() == 8);  // nothing beyond the window while it was full
    release = true;
    for (auto& finish : held) finish(events::Outcome::ok());
    held.clear();
  }
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard lock(mutex);
        return handled.size() == 80;
      },
      60s));
  (*runtime)->stop();
  for (const auto& [id, times] : handled) {
    INFO(id);
    CHECK(times == 1);
  }
}

TEST_CASE("librdkafka's statistics reach the metrics of a producer and a consumer talking to a real broker") {
  testing::KafkaFixture kafka({"payment.completed"});
  auto options = kafka.options;
  options.statistics_interval = 100ms;
  {
    auto producer = events::Producer::create(options);
    REQUIRE(producer.ok());
    REQUIRE((*producer)->send_event(kafka.payment_completed(core::new_uuid_v7()), nullptr).ok());
    REQUIRE((*producer)->flush(10s).ok());
    CHECK(
        testing::eventually([] { return testing::metric_value("rdkafka_sent_messages_total").value_or(0) >= 1; }, 10s));
    CHECK(testing::metric_value("rdkafka_broker_rtt_p99_seconds").value_or(-1) >= 0);
  }
  // A closed client's series go.
  CHECK_FALSE(testing::metric_value("rdkafka_sent_messages_total").has_value());

  // A consumer serves its statistics while it polls.
  events::ConsumerSettings settings;
  settings.group = testing::unique_name("stats");
  settings.topics = {"payment.completed"};
  auto consumer = events::KafkaConsumer::create(options, settings, nullptr);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->subscribe().ok());
  std::size_t records = 0;
  CHECK(testing::eventually(
      [&] {
        if ((*consumer)->poll(100ms)) ++records;
        return records == 1 && testing::metric_value("rdkafka_received_messages_total").value_or(0) >= 1;
      },
      20s, 0ms));
  CHECK(testing::metric_value("rdkafka_consumer_fetch_queue_messages").has_value());
}
