#include <catch2/catch.hpp>

#include <thread>

#include "pg/array.hpp"
#include "pg/migrate.hpp"
#include "pg/pool.hpp"
#include "support/fresh_schema.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

struct Schema : testing::FreshSchema {
  Schema() : FreshSchema("pgtest") {}
};

}  // namespace

TEST_CASE("parameters travel separately from SQL, including hostile text and NULL") {
  Schema schema;
  auto& c = schema.connection;
  REQUIRE(c.exec("CREATE TABLE t (id bigint PRIMARY KEY, name text, data bytea)").ok());
  const std::string hostile = "x'); DROP TABLE t; --";
  REQUIRE(c.exec("INSERT INTO t VALUES ($1, $2, $3)", 1, hostile, pg::Bytea{std::string_view("\0\x01\xff", 3)}).ok());
  REQUIRE(c.exec("INSERT INTO t VALUES ($1, $2, NULL)", 2, std::optional<std::string>{}).ok());
  auto rows = c.exec("SELECT name, data FROM t ORDER BY id");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK(rows->str(0, 0) == hostile);
  CHECK(rows->bytes(0, 1) == std::string("\0\x01\xff", 3));
  CHECK(rows->is_null(1, 0));
  auto any = c.exec("SELECT count(*) FROM t WHERE name = ANY($1::text[])", std::vector<std::string>{hostile, "\"q\\"});
  REQUIRE(any.ok());
  CHECK(any->integer(0, 0) == 1);
}

TEST_CASE("an ArrayParam travels as the array of its elements, quotes, backslashes and numbers included") {
  Schema schema;
  auto& c = schema.connection;
  const std::vector<std::string> texts{"plain", "x'); DROP TABLE t; --", "\"q\\", "", "{a,b}", "NULL"};
  pg::ArrayParam built(texts.size(), 8);
  for (const auto& t : texts) built.add(t);
  pg::ArrayParam numbers;
  for (const std::int64_t n : {std::int64_t{-5}, std::int64_t{0}, std::int64_t{9007199254740993}}) numbers.add(n);
  CHECK(numbers.size() == 3);
  auto rows = c.exec("SELECT t, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS a(t, n, i) ORDER BY i",
                     built, numbers);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == static_cast<int>(texts.size()));
  for (std::size_t i = 0; i < texts.size(); ++i) CHECK(rows->str(static_cast<int>(i), 0) == texts[i]);
  CHECK(rows->integer(0, 1) == -5);
  CHECK(rows->integer(2, 1) == 9007199254740993);
  CHECK(rows->is_null(3, 1));
  // take() hands over the literal itself; an empty builder is the empty array.
  auto empty = c.exec("SELECT cardinality($1::text[])", pg::ArrayParam().take());
  REQUIRE(empty.ok());
  CHECK(empty->integer(0, 0) == 0);
  const auto literal = std::move(built).take();  // outside CHECK: Catch spells its expression twice
  CHECK(literal == pg::to_param(texts));
}

TEST_CASE("errors map to categories: unique violation is a conflict naming its constraint") {
  Schema schema;
  auto& c = schema.connection;
  REQUIRE(c.exec("CREATE TABLE u (k text CONSTRAINT u_k_key UNIQUE)").ok());
  REQUIRE(c.exec("INSERT INTO u VALUES ($1)", "a").ok());
  auto duplicate = c.exec("INSERT INTO u VALUES ($1)", "a");
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().category == core::ErrorCategory::conflict);
  CHECK(duplicate.error().code == "unique-violation:u_k_key");
  auto syntax = c.exec("SELEC 1");
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.error().category == core::ErrorCategory::internal);
}

TEST_CASE("a transaction rolls back unless committed, savepoints isolate a failure") {
  Schema schema;
  auto& c = schema.connection;
  REQUIRE(c.exec("CREATE TABLE v (n int PRIMARY KEY)").ok());
  {
    auto tx = pg::Transaction::begin(c);
    REQUIRE(tx.ok());
    REQUIRE(tx->exec("INSERT INTO v VALUES (1)").ok());
  }  // dropped: rolled back
  CHECK(testing::query_integer(c, "SELECT count(*) FROM v") == 0);
  auto tx = pg::Transaction::begin(c);
  REQUIRE(tx.ok());
  REQUIRE(tx->exec("INSERT INTO v VALUES (1)").ok());
  REQUIRE(tx->savepoint("s").ok());
  CHECK_FALSE(tx->exec("INSERT INTO v VALUES (1)").ok());
  REQUIRE(tx->rollback_to("s").ok());
  REQUIRE(tx->exec("INSERT INTO v VALUES (2)").ok());
  REQUIRE(tx->commit().ok());
  CHECK(testing::query_integer(c, "SELECT count(*) FROM v") == 2);
}

TEST_CASE("a failed transaction reports its COMMIT as an error") {
  Schema schema;
  auto& c = schema.connection;
  auto tx = pg::Transaction::begin(c);
  REQUIRE(tx.ok());
  CHECK_FALSE(tx->exec("SELECT 1/0").ok());
  CHECK_FALSE(tx->commit().ok());
}

TEST_CASE("LISTEN wakes on NOTIFY and times out otherwise") {
  Schema schema;
  auto listener = testing::connect(schema.schema);
  REQUIRE(listener.listen("chan_" + schema.schema).ok());
  auto quiet = listener.wait_for_notification(50ms);
  REQUIRE(quiet.ok());
  CHECK_FALSE(*quiet);
  REQUIRE(schema.connection.exec("SELECT pg_notify($1, '')", "chan_" + schema.schema).ok());
  auto woke = listener.wait_for_notification(2000ms);
  REQUIRE(woke.ok());
  CHECK(*woke);
}

TEST_CASE("migrations apply once, in order, even from concurrent replicas") {
  const std::string schema = testing::unique_name("mig");
  const core::EmbeddedFile files[] = {
      {"002_more.sql", "INSERT INTO items VALUES (2);"},
      {"001_init.sql", "CREATE TABLE items (n int PRIMARY KEY); INSERT INTO items VALUES (1);"},
  };
  std::vector<std::thread> replicas;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    replicas.emplace_back([&] {
      auto c = testing::connect(schema);
      if (pg::migrate(c, schema, files)) ++ok;
    });
  }
  for (auto& t : replicas) t.join();
  CHECK(ok == 4);
  auto c = testing::connect(schema);
  CHECK(testing::query_integer(c, "SELECT count(*) FROM items") == 2);
  auto applied = pg::migrations_applied(c, files);
  REQUIRE(applied.ok());
  CHECK(*applied);
  const core::EmbeddedFile more[] = {files[0], files[1], {"003_x.sql", "SELECT 1;"}};
  CHECK_FALSE(*pg::migrations_applied(c, more));
  REQUIRE(c.exec("DROP SCHEMA " + schema + " CASCADE").ok());
}

TEST_CASE("the pool bounds connections and replaces broken ones") {
  Schema schema;
  pg::PoolOptions options;
  options.connect = testing::pg_options(schema.schema);
  options.size = 2;
  options.acquire_timeout = 200ms;
  pg::Pool pool(options);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    auto c = pool.acquire();
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == "pg-pool-exhausted");
    // Kill one backend: its lease comes back broken and is replaced.
    auto pid = (*a)->exec("SELECT pg_backend_pid()");
    REQUIRE(pid.ok());
    REQUIRE(schema.connection.exec("SELECT pg_terminate_backend($1)", pid->integer(0, 0)).ok());
    CHECK_FALSE((*a)->exec("SELECT 1").ok());
  }
  for (int i = 0; i < 4; ++i) CHECK(pool.ping().ok());
  CHECK(pool.transact([](pg::Transaction& tx) -> core::Status {
              auto r = tx.exec("SELECT 1");
              if (!r) return r.error();
              return {};
            })
            .ok());
}
