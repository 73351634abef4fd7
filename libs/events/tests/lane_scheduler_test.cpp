#include "events/lane_scheduler.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using paypipe::events::LaneScheduler;
using paypipe::events::TopicPartition;

namespace {
const TopicPartition p0{"t", 0};
const TopicPartition p1{"t", 1};
auto all = [](const TopicPartition&) { return true; };
auto only(const TopicPartition& p) {
  return [p](const TopicPartition& q) { return q == p; };
}
}  // namespace

TEST_CASE("jobs of one key run in order, one at a time; keys run in parallel", "[unit]") {
  LaneScheduler s(100);
  CHECK(s.push(1, "a", p0));   // lane a idle: starts
  CHECK(s.push(2, "b", p0));   // lane b idle: starts
  CHECK_FALSE(s.push(3, "a", p0));  // behind 1
  CHECK_FALSE(s.push(4, "a", p0));  // behind 3
  CHECK(s.running(1));
  CHECK_FALSE(s.running(3));
  // Interleaved completions: b first, then a's in order.
  CHECK_FALSE(s.finish(2));
  CHECK(s.finish(1) == 3u);
  CHECK(s.running(3));
  CHECK(s.finish(3) == 4u);
  CHECK_FALSE(s.finish(4));
  CHECK(s.size() == 0);
}

TEST_CASE("the window counts every admitted job, running or queued", "[unit]") {
  LaneScheduler s(3);
  s.push(1, "a", p0);
  s.push(2, "a", p0);
  CHECK_FALSE(s.full());
  s.push(3, "b", p1);
  CHECK(s.full());
  s.finish(3);
  CHECK_FALSE(s.full());
}

TEST_CASE("a stuck key, or one in backoff, never holds the others", "[unit]") {
  LaneScheduler s(100);
  CHECK(s.push(1, "stuck", p0));
  CHECK_FALSE(s.push(2, "stuck", p0));
  s.wait(1);  // a retry in backoff: its lane waits with it
  CHECK_FALSE(s.running(1));
  CHECK(s.push(3, "other", p0));  // same partition, another key: runs
  CHECK_FALSE(s.finish(3));
  CHECK(s.push(4, "other", p0));
  s.run(1);  // the timer fired
  CHECK(s.running(1));
  CHECK(s.finish(1) == 2u);  // then its next, in order
}

TEST_CASE("a held partition starts nothing new until released, then its queued heads start", "[unit]") {
  LaneScheduler s(100);
  CHECK(s.push(1, "a", p0));
  CHECK(s.push(2, "b", p0));
  CHECK_FALSE(s.push(3, "a", p0));
  s.wait(1);
  s.hold(p0);  // 1 failed on the infrastructure
  CHECK_FALSE(s.push(4, "c", p0));  // a new key of the held partition waits
  CHECK(s.push(5, "d", p1));        // another partition does not
  CHECK_FALSE(s.finish(2));         // b finishes; nothing of p0 starts
  s.run(1);                          // its infrastructure wait is over: it tries again
  CHECK(s.finish(1) == std::nullopt);  // 3 waits for the release
  const auto started = s.release(p0);
  CHECK(started.size() == 2);  // 3 (lane a) and 4 (lane c)
  CHECK(s.running(3));
  CHECK(s.running(4));
  CHECK(s.release(p0).empty());
}

TEST_CASE("revoke mid-flight: what is not running is dropped at once, the running job is waited for", "[unit]") {
  LaneScheduler s(100);
  s.push(1, "a", p0);   // running
  s.push(2, "a", p0);   // queued behind it
  s.push(3, "b", p0);   // running, then in backoff
  s.wait(3);
  s.push(4, "c", p1);   // another partition, running
  auto dropped = s.drop_idle(only(p0));
  std::sort(dropped.begin(), dropped.end());
  CHECK(dropped == std::vector<LaneScheduler::Id>{2, 3});
  CHECK(s.any_running(only(p0)));  // 1: the revoke waits for it (bounded)
  CHECK(s.any_running(only(p1)));
  // The drain timed out: 1 is forgotten (its completion will be stale); p1 untouched.
  CHECK(s.forget(only(p0)) == std::vector<LaneScheduler::Id>{1});
  CHECK_FALSE(s.any_running(only(p0)));
  CHECK(s.contains(4));
  CHECK_FALSE(s.finish(1));  // a late completion of a forgotten job changes nothing
  CHECK(s.size() == 1);
}

TEST_CASE("stop: records in backoff and queued are released at once, only running ones are waited for", "[unit]") {
  LaneScheduler s(100);
  s.push(1, "a", p0);
  s.wait(1);  // a long backoff (a 429's Retry-After)
  s.push(2, "a", p0);
  s.push(3, "b", p1);
  const auto dropped = s.drop_idle(all);
  CHECK(dropped.size() == 2);
  CHECK(s.any_running(all));  // 3
  CHECK_FALSE(s.finish(3));
  CHECK_FALSE(s.any_running(all));
  CHECK(s.size() == 0);
}
