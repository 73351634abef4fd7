// The pool's metrics (pg_pool_*) against a real PostgreSQL: size, connections in use,
// acquisitions that waited, and the ones that timed out.
#include <catch2/catch.hpp>

#include <thread>

#include "pg/pool.hpp"
#include "support/metrics.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("the pool exports its size, its connections in use, its waits and its timeouts") {
  pg::PoolOptions options;
  options.connect = testing::pg_options("public");
  options.size = 1;
  options.acquire_timeout = 300ms;
  options.name = testing::unique_name("pool");
  const prometheus::Labels pool{{"pool", options.name}};
  auto value = [&](const char* name) { return testing::metric_value(name, pool).value_or(-1); };
  {
    pg::Pool subject(options);
    CHECK(value("pg_pool_size") == 1);
    CHECK(value("pg_pool_connections_in_use") == 0);
    {
      auto first = subject.acquire();
      REQUIRE(first.ok());
      CHECK(value("pg_pool_connections_in_use") == 1);

      // The only connection is out: this one waits the whole timeout, then gives up.
      auto second = subject.acquire();
      CHECK_FALSE(second.ok());
      CHECK(value("pg_pool_acquire_timeouts_total") == 1);
      CHECK(value("pg_pool_acquire_waits_total") == 1);
      CHECK(value("pg_pool_acquire_wait_seconds") == 1);  // observations

      // This one waits until the first comes back.
      std::thread waiter([&] {
        auto third = subject.acquire();
        CHECK(third.ok());
      });
      // Nothing shows a waiter blocked until it is served: give it time to block.
      std::this_thread::sleep_for(100ms);
      {
        auto returned = std::move(first).value();
      }
      waiter.join();
      CHECK(value("pg_pool_acquire_waits_total") == 2);
      CHECK(value("pg_pool_acquire_timeouts_total") == 1);
    }
    CHECK(value("pg_pool_connections_in_use") == 0);
    REQUIRE(subject.ping().ok());  // an idle connection handed out again without waiting
    CHECK(value("pg_pool_acquire_waits_total") == 2);
    CHECK(value("pg_pool_connections_in_use") == 0);
  }
  CHECK(value("pg_pool_size") == 0);  // the pool is gone
}
