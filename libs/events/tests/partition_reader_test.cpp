// PartitionReader against the real broker: a group's windows (committed offset to the
// end), reading them without joining the group and without moving its offsets.
#include "events/partition_reader.hpp"

#include <catch2/catch.hpp>

#include "events/admin.hpp"
#include "helpers.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("a group's unread records are read from its committed offset to the end, leaving the group as it was") {
  testing::KafkaFixture kafka({"dlq.gr"}, 1);
  const auto topic = kafka.options.topic("dlq.gr");
  for (int i = 0; i < 5; ++i) kafka.send_raw("dlq.gr", "k" + std::to_string(i), "v" + std::to_string(i), {{"h", "x"}});
  kafka.flush();
  auto admin = events::Admin::create(kafka.options);
  REQUIRE(admin.ok());
  const auto group = kafka.options.topic_prefix + "gr";
  events::OffsetReset at_two;
  at_two.to = events::OffsetReset::To::offset;
  at_two.topic = topic;
  at_two.partition = 0;
  at_two.offset = 2;
  // On a fresh broker the offsets topic is created by the first group request: retried.
  REQUIRE(testing::eventually([&] { return (*admin)->reset_group_offsets(group, at_two, 10s).ok(); }, 30s));

  auto reader = events::PartitionReader::create(kafka.options, "gr");
  REQUIRE(reader.ok());
  auto partitions = (*reader)->partitions([&](std::string_view name) { return name == topic; }, 10s);
  REQUIRE(partitions.ok());
  REQUIRE(*partitions == std::vector<events::TopicPartition>{{topic, 0}});
  auto windows = (*reader)->windows(*partitions, 10s);
  REQUIRE(windows.ok());
  REQUIRE(windows->size() == 1);
  const auto& w = windows->front();
  CHECK(w.committed == 2);
  CHECK(w.low == 0);
  CHECK(w.high == 5);
  CHECK(w.start() == 2);
  CHECK(w.span() == 3);

  auto rest = (*reader)->read(w.partition, w.start(), w.high, 10, 10s);
  REQUIRE(rest.ok());
  REQUIRE(rest->size() == 3);
  CHECK((*rest)[0].offset == 2);
  CHECK((*rest)[0].key == "k2");
  CHECK((*rest)[2].value == "v4");
  REQUIRE((*rest)[0].headers.size() == 1);
  CHECK((*rest)[0].headers[0].value == "x");
  auto one = (*reader)->read(w.partition, 3, w.high, 1, 10s);
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK(one->front().offset == 3);
  CHECK((*reader)->read(w.partition, 5, 5, 10, 10s)->empty());

  // Never a member, nothing committed: the group is as it was.
  auto described = (*admin)->describe_group(group, 10s);
  REQUIRE(described.ok());
  CHECK(described->members.empty());
  REQUIRE(described->partitions.size() == 1);
  CHECK(described->partitions[0].committed == 2);

  // A group that never committed starts at the partition's first record.
  auto fresh = events::PartitionReader::create(kafka.options, "nobody");
  REQUIRE(fresh.ok());
  auto unread = (*fresh)->windows(*partitions, 10s);
  REQUIRE(unread.ok());
  CHECK(unread->front().committed == -1);
  CHECK(unread->front().start() == 0);
  CHECK(unread->front().span() == 5);
}
