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

namespace {

// What a failover leaves behind: the server the pool reached stops taking writes (the
// old primary restarted as a standby, or fenced read-only). Here it is made read-only
// for every session by configuration, and writable again.
void set_read_only(const std::string& dsn, bool read_only) {
  pg::ConnectOptions options;
  options.dsn = dsn;
  auto admin = pg::Connection::connect(options);
  REQUIRE(admin.ok());
  REQUIRE(admin
              ->exec(read_only ? "ALTER SYSTEM SET default_transaction_read_only = on"
                               : "ALTER SYSTEM RESET default_transaction_read_only")
              .ok());
  REQUIRE(admin->exec("SELECT pg_reload_conf()").ok());
  // The reload reaches the server's processes shortly after: a new session shows it.
  REQUIRE(testing::eventually(
      [&] {
        auto probe = pg::Connection::connect(options);
        if (!probe) return false;
        auto rows = probe->exec("SHOW transaction_read_only");
        return rows && rows->text(0, 0) == (read_only ? "on" : "off");
      },
      5000ms, 50ms));
}

}  // namespace

TEST_CASE(
    "a server that turns read-only is an outage: writes are unavailable, ping fails, its connections are dropped") {
  PrivatePostgres postgres;
  pg::Pool pool(options_for(postgres.dsn(), 2));
  {
    auto lease = pool.acquire();
    REQUIRE(lease.ok());
    REQUIRE((*lease)->exec("CREATE TABLE failover_probe (v int)").ok());
  }

  set_read_only(postgres.dsn(), true);
  int refused_on = 0;
  {
    auto lease = pool.acquire();
    REQUIRE(lease.ok());
    refused_on = (*lease)->backend_pid();
    auto insert = (*lease)->exec("INSERT INTO failover_probe VALUES (1)");
    REQUIRE_FALSE(insert.ok());
    INFO(insert.error().message);
    // Waited out and retried like any outage, never dead-lettered or answered 500.
    CHECK(insert.error().category == core::ErrorCategory::unavailable);
    CHECK(insert.error().code == "pg-25006");
  }
  {
    // Its connection went to a server that takes no writes: not handed out again, so
    // the next connection is opened anew (where libpq's target_session_attrs=read-write
    // or the Service finds the new primary).
    auto lease = pool.acquire();
    REQUIRE(lease.ok());
    CHECK((*lease)->backend_pid() != refused_on);
  }
  // Readiness fails while no connection can write.
  auto ping = pool.ping();
  REQUIRE_FALSE(ping.ok());
  CHECK(ping.error().category == core::ErrorCategory::unavailable);
  CHECK(ping.error().code == "pg-read-only");

  set_read_only(postgres.dsn(), false);
  CHECK(testing::eventually([&] { return pool.ping().ok(); }, 2000ms, 50ms));
  auto lease = pool.acquire();
  REQUIRE(lease.ok());
  CHECK((*lease)->exec("INSERT INTO failover_probe VALUES (2)").ok());
}
