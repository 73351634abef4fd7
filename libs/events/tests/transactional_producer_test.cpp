// The transactional producer on the real broker: committed records and offsets become
// visible together, aborted ones never, and a transaction left open by a dead instance
// is aborted when the next instance with its transactional.id starts.
#include "events/transactional_producer.hpp"

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

events::OutgoingRecord record_for(const events::KafkaOptions& options, const std::string& topic, std::string value) {
  return {options.topic(topic), std::string("k"), std::move(value), {{"h", std::string("\x00\x01", 2)}}};
}

std::unique_ptr<events::TransactionalProducer> transactional(const events::KafkaOptions& options,
                                                             const std::string& id) {
  auto created = events::TransactionalProducer::create(options, {id, 10000ms, 1ms});
  REQUIRE(created.ok());
  REQUIRE((*created)->init(30s).ok());
  return std::move(created).value();
}

std::vector<std::string> values_of(const std::vector<events::ConsumedRecord>& records) {
  std::vector<std::string> values;
  for (const auto& r : records) values.push_back(r.value);
  return values;
}

}  // namespace

TEST_CASE("a transactional producer is configured for transactions and refuses an empty id") {
  testing::KafkaFixture kafka({"txn.out"}, 1);
  auto producer = transactional(kafka.options, testing::unique_name("txn"));
  CHECK(producer->config("enable.idempotence") == "true");
  CHECK(producer->config("acks") == "-1");
  CHECK(producer->config("transaction.timeout.ms") == "10000");
  CHECK_FALSE(events::TransactionalProducer::create(kafka.options, {}).ok());
}

TEST_CASE("read_committed readers see committed transactions only") {
  testing::KafkaFixture kafka({"txn.out"}, 1);
  auto producer = transactional(kafka.options, testing::unique_name("txn"));
  REQUIRE(producer->begin().ok());
  REQUIRE(producer->send(record_for(kafka.options, "txn.out", "aborted")).ok());
  REQUIRE(producer->abort(10s).ok());
  REQUIRE(producer->begin().ok());
  REQUIRE(producer->send(record_for(kafka.options, "txn.out", "one")).ok());
  REQUIRE(producer->send(record_for(kafka.options, "txn.out", "two")).ok());
  REQUIRE(producer->commit(10s).ok());
  CHECK_FALSE(producer->in_transaction());

  const auto read = testing::read_topic(kafka.options, kafka.options.topic("txn.out"), 3, 5s);
  CHECK(values_of(read) == std::vector<std::string>{"one", "two"});
  REQUIRE(read.size() == 2);
  CHECK(read[0].key == "k");
  CHECK(*events::find_header(read[0].headers, "h") == std::string("\x00\x01", 2));
}

TEST_CASE("offsets sent to a transaction are the group's committed offsets once it commits") {
  testing::KafkaFixture kafka({"txn.in", "txn.out"}, 1);
  for (int i = 0; i < 3; ++i) kafka.send_raw("txn.in", std::string("k"), "in-" + std::to_string(i), {});
  events::ConsumerSettings settings;
  settings.group = testing::unique_name("txn-group");
  settings.topics = {"txn.in"};
  settings.auto_commit = false;
  auto consumer = events::KafkaConsumer::create(kafka.options, settings, nullptr);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->subscribe().ok());
  std::vector<events::ConsumedRecord> in;
  REQUIRE(testing::eventually(
      [&] {
        if (auto r = (*consumer)->poll(100ms)) in.push_back(*r);
        return in.size() == 3;
      },
      30s, 1ms));

  auto producer = transactional(kafka.options, testing::unique_name("txn"));
  const events::TopicPartition tp{kafka.options.topic("txn.in"), 0};
  // A consumer that also commits on its own is refused: its commits could undo the transaction's.
  {
    auto auto_settings = settings;
    auto_settings.auto_commit = true;
    auto auto_committing = events::KafkaConsumer::create(kafka.options, auto_settings, nullptr);
    REQUIRE(auto_committing.ok());
    REQUIRE(producer->begin().ok());
    CHECK_FALSE(producer->send_offsets(**auto_committing, {{tp, 3}}, 10s).ok());
    REQUIRE(producer->abort(10s).ok());
  }
  // Aborted: the offsets stay where they were.
  REQUIRE(producer->begin().ok());
  REQUIRE(producer->send_offsets(**consumer, {{tp, 3}}, 10s).ok());
  REQUIRE(producer->abort(10s).ok());
  // Committed: records 0 and 1 are done.
  REQUIRE(producer->begin().ok());
  REQUIRE(producer->send(record_for(kafka.options, "txn.out", "from-0-and-1")).ok());
  REQUIRE(producer->send_offsets(**consumer, {{tp, 2}}, 10s).ok());
  REQUIRE(producer->commit(10s).ok());
  (*consumer)->close();

  // A new member of the group starts after the committed offset.
  auto again = events::KafkaConsumer::create(kafka.options, settings, nullptr);
  REQUIRE(again.ok());
  REQUIRE((*again)->subscribe().ok());
  std::optional<events::ConsumedRecord> next;
  REQUIRE(testing::eventually([&] { return (next = (*again)->poll(100ms)).has_value(); }, 30s, 1ms));
  CHECK(next->offset == 2);
  CHECK(next->value == "in-2");
}

TEST_CASE("a transaction left open by a dead instance is aborted by the next instance with its id") {
  testing::KafkaFixture kafka({"txn.out"}, 1);
  const auto id = testing::unique_name("txn");
  auto dead = transactional(kafka.options, id);
  REQUIRE(dead->begin().ok());
  REQUIRE(dead->send(record_for(kafka.options, "txn.out", "never")).ok());
  // In the log but not committed: what a kill -9 between produce and commit leaves.
  auto uncommitted = kafka.options;
  uncommitted.properties["isolation.level"] = "read_uncommitted";
  REQUIRE(values_of(testing::read_topic(uncommitted, kafka.options.topic("txn.out"), 1, 30s)) ==
          std::vector<std::string>{"never"});

  auto next = transactional(kafka.options, id);  // fences `dead` and aborts its transaction
  REQUIRE(next->begin().ok());
  REQUIRE(next->send(record_for(kafka.options, "txn.out", "after")).ok());
  REQUIRE(next->commit(10s).ok());

  // The fenced instance can no longer commit anything.
  const auto fenced = dead->commit(10s);
  REQUIRE_FALSE(fenced.ok());
  CHECK(fenced.error().code == "kafka-txn-fatal");
  CHECK(dead->failed());

  const auto read = testing::read_topic(kafka.options, kafka.options.topic("txn.out"), 2, 5s);
  CHECK(values_of(read) == std::vector<std::string>{"after"});
}
