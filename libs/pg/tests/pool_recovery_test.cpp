// The pool after PostgreSQL restarts: on a private cluster of its own (scripts/stack.py
// with --no-kafka, in a temporary directory), so stopping it disturbs no other test.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pg/pool.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  const int status = ::pclose(pipe);
  INFO(command << "\n" << out);
  REQUIRE(status == 0);
  return out;
}

// A PostgreSQL cluster of this test only; stopped and removed on destruction.
class PrivatePostgres {
 public:
  PrivatePostgres() {
    const char* source = std::getenv("PAYPIPE_SOURCE_DIR");
    REQUIRE(source != nullptr);
    script_ = std::string("python3 ") + source + "/scripts/stack.py";
    dir_ = (std::filesystem::temp_directory_path() / testing::unique_name("pgrecovery")).string();
    const auto env = run(script_ + " start --no-kafka --dir " + dir_ + " 2>&1 | grep '^PG_DSN='");
    dsn_ = env.substr(std::string("PG_DSN=").size());
    while (!dsn_.empty() && (dsn_.back() == '\n' || dsn_.back() == '\r')) dsn_.pop_back();
  }
  ~PrivatePostgres() { (void)std::system((script_ + " stop --dir " + dir_ + " >/dev/null 2>&1").c_str()); }

  const std::string& dsn() const { return dsn_; }
  void stop() { run(script_ + " postgres-stop --dir " + dir_ + " 2>&1"); }
  void start() { run(script_ + " postgres-start --dir " + dir_ + " 2>&1"); }
  void restart() { run(script_ + " postgres-restart --dir " + dir_ + " 2>&1"); }

 private:
  std::string script_;
  std::string dir_;
  std::string dsn_;
};

pg::PoolOptions options_for(const std::string& dsn, std::size_t size) {
  pg::PoolOptions options;
  options.connect.dsn = dsn;
  options.connect.connect_timeout = std::chrono::seconds(2);
  options.size = size;
  options.acquire_timeout = 2000ms;
  return options;
}

// Opens `size` connections at once and returns them to the pool.
void warm(pg::Pool& pool, std::size_t size) {
  std::vector<pg::Pool::Lease> leases;
  for (std::size_t i = 0; i < size; ++i) {
    auto lease = pool.acquire();
    REQUIRE(lease.ok());
    REQUIRE((*lease)->exec("SELECT 1").ok());
    leases.push_back(std::move(lease).value());
  }
}

}  // namespace

TEST_CASE("after PostgreSQL restarts, a warmed pool answers the first queries on fresh connections") {
  PrivatePostgres postgres;
  constexpr std::size_t size = 6;
  pg::Pool pool(options_for(postgres.dsn(), size));
  warm(pool, size);

  postgres.restart();
  const auto back = std::chrono::steady_clock::now();

  // Every pooled connection died with the old server. The pool must not hand them out
  // one by one (one failed request each): at most one query may fail.
  int failed = 0;
  for (std::size_t i = 0; i < 2 * size; ++i) {
    auto status = pool.transact([](pg::Transaction& tx) -> core::Status {
      auto rows = tx.exec("SELECT 1");
      if (!rows) return rows.error();
      return {};
    });
    if (!status) {
      ++failed;
      UNSCOPED_INFO("query " << i << " failed: " << status.error().message);
    }
  }
  CHECK(failed <= 1);
  CHECK(pool.ping().ok());
  CHECK(std::chrono::steady_clock::now() - back < 2s);
}

TEST_CASE("ping fails while PostgreSQL is down and succeeds within 2 s of its return") {
  PrivatePostgres postgres;
  constexpr std::size_t size = 4;
  pg::Pool pool(options_for(postgres.dsn(), size));
  warm(pool, size);

  postgres.stop();
  CHECK_FALSE(pool.ping().ok());
  postgres.start();
  const auto back = std::chrono::steady_clock::now();
  // The first ping after the return: a dead pooled connection is noticed and the ping
  // retried on a fresh one, so no probe period is lost.
  auto first = pool.ping();
  INFO((first ? std::string("ok") : first.error().message));
  CHECK(first.ok());
  CHECK(testing::eventually([&] { return pool.ping().ok(); }, 2000ms, 50ms));
  CHECK(std::chrono::steady_clock::now() - back < 2s);
}
