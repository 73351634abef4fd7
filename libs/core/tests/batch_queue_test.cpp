#include "core/batch_queue.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

using namespace paypipe;

TEST_CASE("with lane_of, a lane's items go to one worker at a time, in arrival order, and none is lost") {
  constexpr int lanes = 6;
  constexpr int per_lane = 300;
  std::mutex seen_mutex;
  std::map<int, std::vector<int>> seen;  // lane -> sequence numbers in the order processed
  std::atomic<int> in_flight[lanes] = {};
  std::atomic<int> overlaps{0};
  std::atomic<int> max_batch_seen{0};
  using Item = std::pair<int, int>;  // (lane key, sequence number within the lane)
  core::BatchQueue<Item>::Options options{4,
                                          8,
                                          std::chrono::microseconds(0),
                                          100000,
                                          "lanes-test",
                                          [](const Item& item) { return static_cast<std::size_t>(item.first); }};
  core::BatchQueue<Item> queue(options, [&](std::vector<Item>& batch) {
    std::map<int, int> keys;
    for (const auto& [key, _] : batch) ++keys[key];
    for (const auto& [key, _] : keys) {
      if (in_flight[key]++ != 0) ++overlaps;
    }
    max_batch_seen = std::max<int>(max_batch_seen, static_cast<int>(batch.size()));
    {
      std::lock_guard lock(seen_mutex);
      for (const auto& [key, seq] : batch) seen[key].push_back(seq);
    }
    std::this_thread::yield();  // another worker runs meanwhile, if it can
    for (const auto& [key, _] : keys) --in_flight[key];
  });
  for (int seq = 0; seq < per_lane; ++seq) {
    for (int key = 0; key < lanes; ++key) REQUIRE(queue.push({key, seq}));
  }
  queue.stop();  // processes what is queued

  CHECK(overlaps == 0);
  CHECK(max_batch_seen <= 8);
  REQUIRE(seen.size() == lanes);
  for (const auto& [key, sequence] : seen) {
    REQUIRE(sequence.size() == per_lane);
    for (int i = 0; i < per_lane; ++i) CHECK(sequence[i] == i);
  }
}

TEST_CASE("with lane_of, the capacity bounds the items queued over every lane") {
  std::atomic<bool> release{false};
  std::atomic<int> taken{0};
  core::BatchQueue<int>::Options options{2, 1, std::chrono::microseconds(0), 4, "lanes-capacity", [](const int& item) {
                                           return static_cast<std::size_t>(item);
                                         }};
  core::BatchQueue<int> queue(options, [&](std::vector<int>& batch) {
    taken += static_cast<int>(batch.size());
    while (!release) std::this_thread::yield();  // both workers stay busy
  });
  REQUIRE(queue.push(0));
  REQUIRE(queue.push(1));
  while (taken < 2) std::this_thread::yield();  // each worker holds one item
  for (int i = 0; i < 4; ++i) CHECK(queue.push(i));
  CHECK_FALSE(queue.push(5));
  CHECK(queue.size() == 4);
  release = true;
  queue.stop();
  CHECK(taken == 6);
}
