// `paypipe-admin groups` against the real broker: a group's lag and members, and moving
// its committed offsets (refused while a consumer is in the group).
#include <catch2/catch.hpp>

#include <mutex>
#include <numeric>
#include <set>

#include "events/consumer_runtime.hpp"
#include "helpers.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

std::int64_t total_lag(const events::GroupDescription& d) {
  return std::accumulate(d.partitions.begin(), d.partitions.end(), std::int64_t{0},
                         [](std::int64_t sum, const events::PartitionLag& p) { return sum + p.lag(); });
}

}  // namespace

TEST_CASE("a group's lag per partition, its members, and resetting its offsets only while it has none") {
  testing::KafkaFixture kafka({"payment.completed", "retry.ga", "dlq.ga"});
  constexpr int records = 12;
  for (int i = 0; i < records; ++i) kafka.send(kafka.payment_completed(core::new_uuid_v7(), i));
  kafka.flush();
  auto admin = events::Admin::create(kafka.options);
  REQUIRE(admin.ok());
  const auto group = kafka.options.topic_prefix + "ga";
  const auto topic = kafka.options.topic("payment.completed");
  const auto timeout = 10000ms;

  const auto nobody = (*admin)->describe_group(kafka.options.topic_prefix + "nobody", timeout);
  REQUIRE_FALSE(nobody.ok());
  INFO(nobody.error().message);
  CHECK(nobody.error().category == core::ErrorCategory::not_found);

  std::mutex mutex;
  std::set<std::string> seen;
  events::RuntimeSettings settings;
  settings.consumer.group = "ga";
  settings.consumer.topics = {"payment.completed"};
  settings.subscribe_retry_topic = false;
  auto handler = [&](std::span<const events::ConsumedEvent> batch) {
    std::lock_guard lock(mutex);
    for (const auto& e : batch) seen.insert(e.event.id);
    return std::vector<events::Outcome>(batch.size(), events::Outcome::ok());
  };
  {
    auto runtime = events::ConsumerRuntime::batch(kafka.options, settings, *kafka.producer, handler);
    REQUIRE(runtime.ok());
    REQUIRE((*runtime)->start().ok());
    REQUIRE(testing::eventually(
        [&] {
          std::lock_guard l(mutex);
          return seen.size() == records;
        },
        30s));
    // Members are listed with what they were assigned; lag reaches 0 once committed.
    REQUIRE(testing::eventually(
        [&] {
          auto d = (*admin)->describe_group(group, timeout);
      // Only partitions that received records have a committed offset.
          return d.ok() && d->members.size() == 1 && !d->partitions.empty() && total_lag(*d) == 0;
        },
        30s));
    const auto running = (*admin)->describe_group(group, timeout);
    REQUIRE(running.ok());
    CHECK(running->members[0].assignment.size() == 3);
    const auto refused = (*admin)->reset_group_offsets(group, {}, timeout);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "group-has-members");
    (*runtime)->stop();
  }
  REQUIRE(testing::eventually(
      [&] {
        auto d = (*admin)->describe_group(group, timeout);
        return d.ok() && d->members.empty();
      },
      30s));

  auto describe = [&] {
    auto d = (*admin)->describe_group(group, timeout);
    REQUIRE(d.ok());
    return std::move(d).value();
  };

  // Rewind: everything is to be read again.
  events::OffsetReset earliest;
  auto moved = (*admin)->reset_group_offsets(group, earliest, timeout);
  REQUIRE(moved.ok());
  CHECK(moved->size() == describe().partitions.size());
  CHECK(total_lag(describe()) == records);

  // Skip one record of partition p: committed = its offset + 1.
  const auto before = describe();
  const auto& busy = *std::find_if(before.partitions.begin(), before.partitions.end(),
                                   [](const events::PartitionLag& p) { return p.high > 0; });
  events::OffsetReset skip;
  skip.to = events::OffsetReset::To::offset;
  skip.topic = topic;
  skip.partition = busy.partition;
  skip.offset = busy.low + 1;
  REQUIRE((*admin)->reset_group_offsets(group, skip, timeout).ok());
  CHECK(total_lag(describe()) == records - 1);

  // A time after every record: the end. A time before them all: the start.
  events::OffsetReset later;
  later.to = events::OffsetReset::To::time;
  later.timestamp_ms = core::to_unix_ms(core::now_ms()) + 3'600'000;
  REQUIRE((*admin)->reset_group_offsets(group, later, timeout).ok());
  CHECK(total_lag(describe()) == 0);
  events::OffsetReset long_ago;
  long_ago.to = events::OffsetReset::To::time;
  long_ago.timestamp_ms = 1;
  REQUIRE((*admin)->reset_group_offsets(group, long_ago, timeout).ok());
  CHECK(total_lag(describe()) == records);

  // Skip everything not read yet.
  events::OffsetReset latest;
  latest.to = events::OffsetReset::To::latest;
  REQUIRE((*admin)->reset_group_offsets(group, latest, timeout).ok());
  CHECK(total_lag(describe()) == 0);
}
