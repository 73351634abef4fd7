#include "notification_sender/send_gate.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

using namespace paypipe::notification_sender;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("an open gate runs a send at once on the caller's thread") {
  SendGate gate;
  std::thread::id ran_on;
  gate.submit({[&] { ran_on = std::this_thread::get_id(); }, nullptr});
  CHECK(ran_on == std::this_thread::get_id());
  CHECK(gate.open());
}

TEST_CASE("after a 429 every send waits until Retry-After has passed, in the order submitted") {
  SendGate gate;
  gate.close_for(300ms);
  CHECK_FALSE(gate.open());
  const auto closed_at = Clock::now();
  std::mutex mutex;
  std::vector<int> order;
  std::vector<Clock::time_point> times;
  for (int i = 0; i < 5; ++i) {
    gate.submit({[&, i] {
                   std::lock_guard lock(mutex);
                   order.push_back(i);
                   times.push_back(Clock::now());
                 },
                 nullptr});
  }
  CHECK(gate.waiting() == 5);
  REQUIRE(wait_for(
      [&] {
        std::lock_guard l(mutex);
        return order.size() == 5;
      },
      5s));
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  for (const auto t : times) CHECK(t - closed_at >= 295ms);
  // A shorter Retry-After later never shortens a closure.
  gate.close_for(400ms);
  gate.close_for(10ms);
  const auto reclosed = Clock::now();
  std::atomic<bool> ran{false};
  Clock::time_point when;
  gate.submit({[&] {
                 when = Clock::now();
                 ran = true;
               },
               nullptr});
  REQUIRE(wait_for([&] { return ran.load(); }, 5s));
  CHECK(when - reclosed >= 390ms);
}

TEST_CASE("a send submitted while others wait queues behind them even once the gate is open") {
  SendGate gate;
  gate.close_for(100ms);
  std::mutex mutex;
  std::vector<int> order;
  gate.submit({[&] {
                 std::lock_guard l(mutex);
                 order.push_back(1);
               },
               nullptr});
  std::this_thread::sleep_for(120ms);  // open now; the first may or may not have run yet
  gate.submit({[&] {
                 std::lock_guard l(mutex);
                 order.push_back(2);
               },
               nullptr});
  REQUIRE(wait_for(
      [&] {
        std::lock_guard l(mutex);
        return order.size() == 2;
      },
      5s));
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("stopping cancels what waits, and what comes later") {
  SendGate gate;
  gate.close_for(60s);
  std::atomic<int> ran{0}, cancelled{0};
  for (int i = 0; i < 3; ++i) gate.submit({[&] { ++ran; }, [&] { ++cancelled; }});
  gate.stop();
  CHECK(cancelled == 3);
  gate.submit({[&] { ++ran; }, [&] { ++cancelled; }});
  CHECK(cancelled == 4);
  CHECK(ran == 0);
}

TEST_CASE("the gate never closes for longer than its cap, whatever it is told, and never overflows") {
  SendGate gate(200ms);
  gate.close_for(std::chrono::milliseconds::max());  // steady_clock::now() + this would overflow
  CHECK_FALSE(gate.open());
  const auto closed_at = Clock::now();
  std::atomic<bool> ran{false};
  gate.submit({[&] { ran = true; }, nullptr});
  REQUIRE(wait_for([&] { return ran.load(); }, 5s));
  CHECK(Clock::now() - closed_at < 2s);
  CHECK(gate.open());
  gate.close_for(std::chrono::milliseconds(-5000));  // a negative wait closes nothing
  CHECK(gate.open());
}

TEST_CASE("a waiting task whose job was abandoned is let go at once, not when the gate opens") {
  SendGate gate;
  gate.close_for(60s);
  std::atomic<bool> abandoned{false};
  std::atomic<bool> ran{false};
  std::atomic<bool> cancelled{false};
  gate.submit({[&] { ran = true; }, [&] { cancelled = true; }, [&] { return abandoned.load(); }});
  std::atomic<bool> other_cancelled{false};
  gate.submit({[] {}, [&] { other_cancelled = true; }, [] { return false; }});
  CHECK(gate.waiting() == 2);
  abandoned = true;
  const auto marked = Clock::now();
  REQUIRE(wait_for([&] { return cancelled.load(); }, 5s));
  CHECK(Clock::now() - marked < 1s);
  CHECK_FALSE(ran);
  CHECK(gate.waiting() == 1);  // the other one still waits
  CHECK_FALSE(other_cancelled);
  gate.stop();
  CHECK(other_cancelled);
}
