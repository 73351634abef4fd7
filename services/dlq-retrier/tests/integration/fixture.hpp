#pragma once
// Shared by dlq-retrier's integration tests: a fresh topic prefix and schema per test,
// dead letters written the way the consumer runtime writes them, and a reader that
// collects what reaches a topic (read_committed, as every consumer of ours reads).

#include <catch2/catch.hpp>

#include <future>

#include "core/time.hpp"
#include "core/uuid.hpp"
#include "dlq_retrier/parked_store.hpp"
#include "dlq_retrier/schema.hpp"
#include "events/dead_letter.hpp"
#include "events/producer.hpp"
#include "runtime/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/stack.hpp"

namespace paypipe::testing {

struct RetrierFixture : FreshSchema {
  std::string prefix = unique_name("dlq") + ".";
  events::KafkaOptions options = kafka_options(prefix);
  pg::Pool pool{pg::PoolOptions{pg_options(schema), 4, std::chrono::milliseconds(5000)}};
  std::unique_ptr<events::Producer> producer;

  explicit RetrierFixture(const std::vector<std::string>& groups, int partitions = 3)
      : FreshSchema("dlq_retrier", runtime::with_event_tables(dlq_retrier::schema::embedded_files())) {
    std::vector<std::string> topics;
    for (const auto& g : groups) {
      topics.push_back(events::dlq_topic(g));
      topics.push_back(events::retry_topic(g));
    }
    create_topics(options, topics, partitions);
    producer = events::Producer::create(options).value();
  }

  // A dead letter of `group`, as the runtime writes it for a record of payment.completed
  // that failed on delivery `attempt` at `failed_at`.
  events::OutgoingRecord dead_letter(const std::string& group, const std::string& key, int attempt,
                                     core::SystemTime failed_at,
                                     events::Outcome outcome = events::Outcome::retry("paypipe.test.Down",
                                                                                      "down")) const {
    events::ConsumedRecord original;
    original.topic = options.topic("payment.completed");
    original.partition = 1;
    original.offset = 100;
    original.timestamp_ms = core::to_unix_ms(failed_at) - 1000;
    original.key = key;
    original.value = R"({"id":")" + key + R"("})";
    original.headers = {{"ce_id", core::new_uuid_v7()}, {"ce_type", "payment.completed"}};
    if (attempt > 1) original.headers.push_back({"attempt", std::to_string(attempt)});
    return events::dead_letter_record(original, outcome, group, options.topic(events::dlq_topic(group)), attempt,
                                      failed_at);
  }

  // Sends and waits for the acknowledgement; returns where the record landed.
  events::Delivery send(events::OutgoingRecord record) {
    auto promise = std::make_shared<std::promise<events::Delivery>>();
    auto future = promise->get_future();
    const auto sent = producer->send(std::move(record),
                                     [promise](const events::Delivery& d) { promise->set_value(d); });
    REQUIRE(sent.ok());
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto delivery = future.get();
    REQUIRE(delivery.status.ok());
    return delivery;
  }

  std::int64_t count(const std::string& sql) { return query_integer(connection, sql); }
};

// Collects the records of one topic as they arrive, with the time each was seen.
class TopicReader {
 public:
  struct Seen {
    events::ConsumedRecord record;
    std::chrono::steady_clock::time_point at;
  };

  TopicReader(const events::KafkaOptions& options, const std::string& full_topic) {
    events::KafkaOptions reader = options;
    reader.topic_prefix.clear();
    events::ConsumerSettings settings;
    settings.group = unique_name("reader");
    settings.topics = {full_topic};
    consumer_ = events::KafkaConsumer::create(reader, settings, nullptr).value();
    REQUIRE(consumer_->subscribe().ok());
  }

  // Polls for `duration`, or until `count` records were seen in all.
  const std::vector<Seen>& poll_for(std::chrono::milliseconds duration, std::size_t count = SIZE_MAX) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (seen_.size() < count && std::chrono::steady_clock::now() < deadline) {
      if (auto r = consumer_->poll(std::chrono::milliseconds(50)))
        seen_.push_back({std::move(*r), std::chrono::steady_clock::now()});
    }
    return seen_;
  }
  const std::vector<Seen>& seen() const { return seen_; }

 private:
  std::unique_ptr<events::KafkaConsumer> consumer_;
  std::vector<Seen> seen_;
};

}  // namespace paypipe::testing
