// pg::Pipeline against the real PostgreSQL: batches, handles, commit, rollback by
// destruction, the first error reported once, savepoints, a Pipeline within a Transaction.
#include <catch2/catch.hpp>

#include "pg/pg.hpp"
#include "support/fresh_schema.hpp"
#include "support/stack.hpp"

using namespace paypipe;

namespace {

struct Table : testing::FreshSchema {
  // A second connection: what other transactions see.
  pg::Connection observer = testing::connect(schema);
  Table() : FreshSchema("pgtest") {
    REQUIRE(connection.exec("CREATE TABLE p (n int CONSTRAINT p_n_key PRIMARY KEY)").ok());
  }
  std::int64_t visible() { return testing::query_integer(observer, "SELECT count(*) FROM p"); }
};

}  // namespace

TEST_CASE("a pipeline commits what it queued, results read by handle") {
  Table t;
  int hooks = 0;
  {
    auto pipeline = pg::Pipeline::begin(t.connection);
    const auto one = pipeline.add("INSERT INTO p VALUES ($1) RETURNING n * 10", 1);
    const auto two = pipeline.add("INSERT INTO p VALUES ($1), ($2)", 2, 3);
    pipeline.after_commit([&] { ++hooks; });
    REQUIRE(pipeline.flush().ok());
    CHECK(pipeline.rows(one).integer(0, 0) == 10);
    CHECK(pipeline.rows(two).affected() == 2);
    CHECK(t.visible() == 0);  // not committed yet
    // A later batch: earlier handles stay valid, exec() answers at once.
    const auto& first = pipeline.rows(one);
    auto count = pipeline.exec("SELECT count(*) FROM p");
    REQUIRE(count.ok());
    CHECK(count->integer(0, 0) == 3);
    const auto three = pipeline.add("DELETE FROM p WHERE n = $1", 3);
    CHECK(hooks == 0);
    REQUIRE(pipeline.commit().ok());
    CHECK(hooks == 1);
    CHECK(first.integer(0, 0) == 10);
    CHECK(pipeline.rows(three).affected() == 1);
    // A committed pipeline takes nothing more.
    pipeline.add("INSERT INTO p VALUES (9)");
    CHECK(pipeline.flush().error().code == "pg-transaction-closed");
  }
  CHECK(t.visible() == 2);
  CHECK(hooks == 1);
}

TEST_CASE("a pipeline dropped before its commit rolls back") {
  Table t;
  int hooks = 0;
  {
    auto pipeline = pg::Pipeline::begin(t.connection);
    pipeline.add("INSERT INTO p VALUES (1)");
    pipeline.after_commit([&] { ++hooks; });
    REQUIRE(pipeline.flush().ok());
  }
  CHECK(t.visible() == 0);
  CHECK(hooks == 0);
  {
    auto never_sent = pg::Pipeline::begin(t.connection);
    never_sent.add("INSERT INTO p VALUES (2)");
  }
  CHECK(t.visible() == 0);
  // The connection is out of any transaction: a plain statement commits on its own.
  REQUIRE(t.connection.exec("INSERT INTO p VALUES (3)").ok());
  CHECK(t.visible() == 1);
}

TEST_CASE("the first error of a batch is reported once, the statements after it skipped") {
  Table t;
  REQUIRE(t.connection.exec("INSERT INTO p VALUES (1)").ok());
  {
    auto pipeline = pg::Pipeline::begin(t.connection);
    const auto before = pipeline.add("INSERT INTO p VALUES (2)");
    const auto duplicate = pipeline.add("INSERT INTO p VALUES (1)");
    const auto after = pipeline.add("INSERT INTO p VALUES (3) RETURNING n");
    auto sent = pipeline.flush();
    REQUIRE_FALSE(sent.ok());
    CHECK(pg::is_unique_violation(sent.error(), "p_n_key"));
    // The statement before the failure ran; the failing and the skipped ones have no rows.
    CHECK(pipeline.ran(before));
    CHECK(pipeline.rows(before).affected() == 1);
    CHECK_FALSE(pipeline.ran(duplicate));
    CHECK_FALSE(pipeline.ran(after));
    CHECK(pipeline.rows(after).empty());
    // Not reported again: what follows is refused without a round trip.
    pipeline.add("INSERT INTO p VALUES (4)");
    auto again = pipeline.flush();
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == "pg-transaction-aborted");
    CHECK(pipeline.commit().error().code == "pg-transaction-aborted");
  }
  CHECK(t.visible() == 1);
  CHECK(t.connection.exec("SELECT 1").ok());  // usable afterwards

  // The failure at COMMIT's batch is the same: the commit reports it and nothing stays.
  auto pipeline = pg::Pipeline::begin(t.connection);
  pipeline.add("INSERT INTO p VALUES (5)");
  pipeline.add("SELECT 1/0");
  auto committed = pipeline.commit();
  REQUIRE_FALSE(committed.ok());
  CHECK(committed.error().code == "pg-22012");
  CHECK(t.visible() == 1);
}

TEST_CASE("a savepoint in a pipeline isolates a failure") {
  Table t;
  REQUIRE(t.connection.exec("INSERT INTO p VALUES (1)").ok());
  auto pipeline = pg::Pipeline::begin(t.connection);
  pipeline.add("INSERT INTO p VALUES (2)");
  pipeline.savepoint("item");
  REQUIRE(pipeline.flush().ok());
  pipeline.add("INSERT INTO p VALUES (3)");
  pipeline.add("INSERT INTO p VALUES (1)");  // duplicate
  pipeline.release("item");
  REQUIRE_FALSE(pipeline.flush().ok());
  REQUIRE(pipeline.rollback_to("item").ok());
  pipeline.add("INSERT INTO p VALUES (4)");
  pipeline.release("item");
  // A savepoint not sent yet: rolling back to it only drops what was queued after it.
  pipeline.savepoint("unsent");
  pipeline.add("INSERT INTO p VALUES (5)");
  REQUIRE(pipeline.rollback_to("unsent").ok());
  REQUIRE(pipeline.commit().ok());
  CHECK(testing::query_integer(t.observer, "SELECT sum(n) FROM p") == 1 + 2 + 4);
}

TEST_CASE("after-commit hooks registered after a savepoint rolled back to never run; on_rows sees the rows") {
  Table t;
  std::vector<std::string> ran;
  std::int64_t returned = 0;
  {
    auto pipeline = pg::Pipeline::begin(t.connection);
    pipeline.after_commit([&] { ran.push_back("before"); });
    pipeline.savepoint("item");
    pipeline.add(pg::Connection::Statement{"INSERT INTO p VALUES (7) RETURNING n", {}},
                 [&](const pg::Rows& rows) { returned = rows.integer(0, 0); });
    pipeline.after_commit([&] { ran.push_back("undone"); });
    REQUIRE(pipeline.flush().ok());
    CHECK(returned == 7);
    REQUIRE(pipeline.rollback_to("item").ok());
    pipeline.after_commit([&] { ran.push_back("kept"); });
    pipeline.release("item");
    REQUIRE(pipeline.commit().ok());
  }
  CHECK(ran == std::vector<std::string>{"before", "kept"});
  // The same in a Transaction, and in a Pipeline within one.
  ran.clear();
  auto tx = pg::Transaction::begin(t.connection);
  REQUIRE(tx.ok());
  REQUIRE(tx->savepoint("event").ok());
  {
    auto within = pg::Pipeline::within(*tx);
    within.after_commit([&] { ran.push_back("undone"); });
  }
  REQUIRE(tx->rollback_to("event").ok());
  tx->after_commit([&] { ran.push_back("kept"); });
  REQUIRE(tx->release("event").ok());
  REQUIRE(tx->commit().ok());
  CHECK(ran == std::vector<std::string>{"kept"});
}

TEST_CASE("a pipeline within a Transaction leaves the commit to it") {
  Table t;
  int hooks = 0;
  {
    auto tx = pg::Transaction::begin(t.connection);
    REQUIRE(tx.ok());
    auto pipeline = pg::Pipeline::within(*tx);
    const auto inserted = pipeline.add("INSERT INTO p VALUES ($1), ($2)", 1, 2);
    pipeline.after_commit([&] { ++hooks; });
    REQUIRE(pipeline.flush().ok());
    CHECK(pipeline.rows(inserted).affected() == 2);
    CHECK(pipeline.commit().error().code == "pg-pipeline-not-owner");
    CHECK(t.visible() == 0);
    REQUIRE(tx->commit().ok());
  }
  CHECK(t.visible() == 2);
  CHECK(hooks == 1);
  {
    auto tx = pg::Transaction::begin(t.connection);
    REQUIRE(tx.ok());
    auto pipeline = pg::Pipeline::within(*tx);
    pipeline.add("INSERT INTO p VALUES (3)");
    REQUIRE(pipeline.flush().ok());
  }  // the Transaction rolls back
  CHECK(t.visible() == 2);
}

TEST_CASE("an autocommit pipeline commits each batch on its own, all or nothing") {
  Table t;
  auto pipeline = pg::Pipeline::autocommit(t.connection);
  const auto one = pipeline.add("INSERT INTO p VALUES (1) RETURNING n");
  pipeline.add("INSERT INTO p VALUES (2)");
  REQUIRE(pipeline.flush().ok());
  CHECK(pipeline.rows(one).integer(0, 0) == 1);
  CHECK(t.visible() == 2);  // no COMMIT needed
  pipeline.add("INSERT INTO p VALUES (3)");
  pipeline.add("INSERT INTO p VALUES (1)");  // duplicate: the whole batch is undone
  auto failed = pipeline.flush();
  REQUIRE_FALSE(failed.ok());
  CHECK(pg::is_unique_violation(failed.error(), "p_n_key"));
  CHECK(t.visible() == 2);
  // Nothing stays aborted: the next batch runs.
  auto count = pipeline.exec("SELECT count(*) FROM p");
  REQUIRE(count.ok());
  CHECK(count->integer(0, 0) == 2);
  CHECK(pipeline.commit().error().code == "pg-pipeline-not-owner");
}

TEST_CASE("a unique violation is recognised by its constraint") {
  Table t;
  REQUIRE(t.connection.exec("INSERT INTO p VALUES (1)").ok());
  auto duplicate = t.connection.exec("INSERT INTO p VALUES (1)");
  REQUIRE_FALSE(duplicate.ok());
  CHECK(pg::is_unique_violation(duplicate.error(), "p_n_key"));
  CHECK_FALSE(pg::is_unique_violation(duplicate.error(), "p_n"));
  CHECK_FALSE(pg::is_unique_violation(duplicate.error(), "other_key"));
  auto check = t.connection.exec("SELECT 1/0");
  REQUIRE_FALSE(check.ok());
  CHECK_FALSE(pg::is_unique_violation(check.error(), ""));
}
