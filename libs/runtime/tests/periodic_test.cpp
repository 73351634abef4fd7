#include "runtime/periodic.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("a periodic pass runs at start and again every period, and stop ends the wait at once") {
  std::atomic<int> passes{0};
  std::promise<void> third;
  runtime::Periodic periodic("periodic-test", 10ms, [&] {
    if (++passes == 3) third.set_value();
  });
  periodic.start();
  REQUIRE(third.get_future().wait_for(10s) == std::future_status::ready);
  periodic.stop();
  const int after_stop = passes;
  periodic.stop();  // idempotent
  CHECK(passes == after_stop);
}

TEST_CASE("stop does not wait out a long period") {
  std::promise<void> first;
  runtime::Periodic periodic("periodic-test", 1h, [&first] { first.set_value(); });
  periodic.start();
  REQUIRE(first.get_future().wait_for(10s) == std::future_status::ready);
  const auto before = std::chrono::steady_clock::now();
  periodic.stop();
  CHECK(std::chrono::steady_clock::now() - before < 5s);
}
