#include "events/offset_tracker.hpp"

#include <catch2/catch.hpp>

using paypipe::events::OffsetTracker;
using paypipe::events::TopicPartition;

namespace {
const TopicPartition p0{"t", 0};
const TopicPartition p1{"t", 1};
}  // namespace

TEST_CASE("the committable offset is the lowest unfinished one, whatever finished after it", "[unit]") {
  OffsetTracker t;
  const auto epoch = t.assign(p0);
  CHECK_FALSE(t.committable(p0));  // nothing polled yet
  for (std::int64_t o = 10; o < 14; ++o) CHECK(t.admit(p0, o) == epoch);
  // Interleaved completions: 11 and 13 first, then 10.
  CHECK(t.finish(p0, 11, epoch));
  CHECK(t.finish(p0, 13, epoch));
  CHECK(t.committable(p0) == 10);
  t.stored(p0, 10);
  CHECK_FALSE(t.committable(p0));  // does not move: 10 still runs
  CHECK(t.finish(p0, 10, epoch));
  CHECK(t.committable(p0) == 12);  // 12 still runs
  CHECK(t.lowest_unfinished(p0) == 12);
  t.stored(p0, 12);
  CHECK(t.finish(p0, 12, epoch));
  CHECK(t.committable(p0) == 14);  // all done: one past the highest polled
  CHECK_FALSE(t.lowest_unfinished(p0));
}

TEST_CASE("partitions are independent: a stuck record holds only its own partition", "[unit]") {
  OffsetTracker t;
  const auto e0 = t.assign(p0);
  const auto e1 = t.assign(p1);
  CHECK(e0 != e1);
  t.admit(p0, 0);  // stuck (an infrastructure error waited out in place, a slow key)
  t.admit(p0, 1);
  t.admit(p1, 0);
  t.admit(p1, 1);
  CHECK(t.finish(p0, 1, e0));
  CHECK(t.finish(p1, 0, e1));
  CHECK(t.finish(p1, 1, e1));
  CHECK(t.committable(p1) == 2);
  CHECK(t.committable(p0) == 0);
  CHECK(t.pending(p0) == std::vector<std::int64_t>{0});
}

TEST_CASE("revoke mid-flight: what may be stored never passes a job still running, its late completion is stale",
          "[unit]") {
  OffsetTracker t;
  const auto old_epoch = t.assign(p0);
  for (std::int64_t o = 0; o < 5; ++o) t.admit(p0, o);
  CHECK(t.finish(p0, 0, old_epoch));
  CHECK(t.finish(p0, 1, old_epoch));
  CHECK(t.finish(p0, 3, old_epoch));
  // Revoke: 2 still runs after the drain timeout, 4 was queued. What the revoke must
  // wait for, and what it may commit:
  CHECK(t.pending(p0) == std::vector<std::int64_t>{2, 4});
  CHECK(t.committable(p0) == 2);  // never past the unfinished 2: the next owner runs it again
  t.revoke(p0);
  CHECK_FALSE(t.assigned(p0));
  CHECK_FALSE(t.committable(p0));
  // The abandoned job reports after the revoke: ignored.
  CHECK_FALSE(t.finish(p0, 2, old_epoch));
  // Reassigned (say the partition came back): the old job's completion is still stale
  // and cannot finish the new assignment's record 2.
  const auto new_epoch = t.assign(p0);
  CHECK(new_epoch != old_epoch);
  CHECK(t.admit(p0, 2) == new_epoch);
  CHECK_FALSE(t.finish(p0, 2, old_epoch));
  CHECK_FALSE(t.current(p0, old_epoch));
  CHECK(t.committable(p0) == 2);
  CHECK(t.finish(p0, 2, new_epoch));
  CHECK(t.committable(p0) == 3);
}

TEST_CASE("a retry in backoff and a stop: a record released unfinished stays pending", "[unit]") {
  OffsetTracker t;
  const auto epoch = t.assign(p0);
  t.admit(p0, 7);  // waiting on a backoff timer when stop() comes
  t.admit(p0, 8);
  CHECK(t.finish(p0, 8, epoch));
  // stop: the timer is dropped, the record not finished: the final commit stays at 7.
  CHECK(t.committable(p0) == 7);
  CHECK(t.partitions() == std::vector<TopicPartition>{p0});
}

TEST_CASE("a record polled before its partition was announced gets an epoch of its own", "[unit]") {
  OffsetTracker t;
  const auto epoch = t.admit(p1, 3);
  CHECK(t.current(p1, epoch));
  CHECK(t.assigned(p1));
  CHECK(t.finish(p1, 3, epoch));
  CHECK(t.committable(p1) == 4);
}
