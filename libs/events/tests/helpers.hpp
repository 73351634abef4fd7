#pragma once
// Shared by the events integration tests: an isolated topic prefix per test, a
// producer, and events with valid data.

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/admin.hpp"
#include "events/consumer_runtime.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "support/stack.hpp"

namespace paypipe::testing {

struct KafkaFixture {
  std::string prefix = unique_name("t") + ".";
  events::KafkaOptions options = kafka_options(prefix);
  std::unique_ptr<events::Producer> producer;

  explicit KafkaFixture(const std::vector<std::string>& topics, int partitions = 3) {
    create_topics(options, topics, partitions);
    auto created = events::Producer::create(options);
    REQUIRE(created.ok());
    producer = std::move(created).value();
  }

  events::Event payment_completed(const std::string& order_id, std::int64_t amount = 1000) const {
    core::json::Writer w;
    w.begin_object()
        .field("paymentId", core::new_uuid_v7())
        .field("orderId", order_id)
        .field("userId", "user-1")
        .field("amount", amount)
        .field("currency", "KRW")
        .field("completedAt", core::now_rfc3339())
        .end_object();
    return events::make_event("payment.completed", "/paypipe/test", order_id, w.take());
  }

  void send(const events::Event& event) { REQUIRE(producer->send_event(event, nullptr).ok()); }

  void send_raw(const std::string& topic, std::optional<std::string> key, std::string value,
                events::KafkaHeaders headers) {
    // Sent outside REQUIRE, which expands its argument more than once (moved-from
    // arguments to clang-tidy).
    const auto sent = producer->send_and_wait(
        {options.topic(topic), std::move(key), std::move(value), std::move(headers)}, std::chrono::milliseconds(10000));
    REQUIRE(sent.ok());
  }

  void flush() { REQUIRE(producer->flush(std::chrono::milliseconds(10000)).ok()); }
};

// A runtime of `group` on payment.completed, batches of 10, 3 quick attempts a record.
inline events::RuntimeSettings settings_for(const std::string& group) {
  events::RuntimeSettings s;
  s.consumer.group = group;
  s.consumer.topics = {"payment.completed"};
  s.batch_size = 10;
  s.retry = events::RetryPolicy{3, std::chrono::milliseconds(10), 2.0, std::chrono::milliseconds(50)};
  return s;
}

}  // namespace paypipe::testing
