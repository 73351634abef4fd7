// The parked store and the operator's operations on the real PostgreSQL and broker:
// idempotent parking, byte-exact rows, filters and pages, replay, replay of a group, purge.
#include "dlq_retrier/parked_operations.hpp"

#include <catch2/catch.hpp>

#include <set>

#include "dlq_retrier/decision.hpp"
#include "fixture.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;
using namespace std::chrono_literals;

namespace {

// Parks one dead letter of `group` at dlq offset `offset`, as the retrier would. The
// default schedule allows 3 re-deliveries: delivery 4 is the last.
ParkedRecord park(testing::RetrierFixture& f, const std::string& group, std::int64_t offset, int attempt = 4,
                  events::Outcome outcome = events::Outcome::retry("paypipe.test.Down", "down")) {
  const auto out = f.dead_letter(group, "key-" + std::to_string(offset), attempt, core::now_ms(), std::move(outcome));
  events::ConsumedRecord dead;
  dead.topic = out.topic;
  dead.partition = 0;
  dead.offset = offset;
  dead.key = out.key;
  dead.value = out.value;
  dead.headers = out.headers;
  const auto decision = decide(dead, f.options, RetrySchedule{}, core::now_ms());
  REQUIRE(std::holds_alternative<Park>(decision));
  const auto record = std::get<Park>(decision).record;
  auto tx = pg::Transaction::begin(f.connection);
  REQUIRE(tx.ok());
  auto inserted = insert_parked(*tx, std::vector<ParkedRecord>{record});
  REQUIRE(inserted.ok());
  REQUIRE(tx->commit().ok());
  REQUIRE(inserted->size() == 1);
  return inserted->front();
}

}  // namespace

TEST_CASE("parking is idempotent per dead letter and keeps every byte") {
  testing::RetrierFixture f({"g1"});
  ParkedRecord r;
  r.group = "g1";
  r.reason = reason::foreign;
  r.reason_detail = "not a paypipe dead letter";
  r.dlq_topic = f.options.topic("dlq.g1");
  r.dlq_partition = 2;
  r.dlq_offset = 5;
  r.key = std::string("\x00\x01k", 3);
  r.value = std::string("\xff\x00\xfe", 3);
  r.headers = {{"a", std::string("\x00", 1)}, {"a", "second"}, {"kafka_dlt-exception-message", "bad \xc3("}};
  r.error_class = "java.lang.X";
  r.message = "bad \xc3(";  // not UTF-8: stored as text with a replacement character
  for (int i = 0; i < 2; ++i) {
    auto tx = pg::Transaction::begin(f.connection);
    REQUIRE(tx.ok());
    auto inserted = insert_parked(*tx, std::vector<ParkedRecord>{r});
    REQUIRE(inserted.ok());
    CHECK(inserted->size() == (i == 0 ? 1u : 0u));  // the second time it is parked already
    REQUIRE(tx->commit().ok());
  }
  CHECK(f.count("SELECT count(*) FROM parked_records") == 1);
  auto page = list_parked(f.connection, ParkedQuery{}, f.prefix);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  const auto& back = page->items[0];
  CHECK(back.key == r.key);
  CHECK(back.value == r.value);
  REQUIRE(back.headers.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back.headers[i].name == r.headers[i].name);
    CHECK(back.headers[i].value == r.headers[i].value);
  }
  CHECK(back.message == "bad \xef\xbf\xbd(");
  CHECK(back.original_partition == -1);
  CHECK_FALSE(back.original_timestamp_ms.has_value());
  CHECK(back.first_failed_at.empty());
}

TEST_CASE("the list filters by group, topic, error class and status, and its pages cover every row once") {
  testing::RetrierFixture f({"g1", "g2"});
  for (int i = 0; i < 7; ++i) park(f, "g1", i);
  for (int i = 0; i < 3; ++i) park(f, "g2", i, 1, events::Outcome::fail("paypipe.events.SchemaViolation", "x"));

  std::set<std::int64_t> ids;
  ParkedQuery q;
  q.group = "g1";
  q.limit = 3;
  int pages = 0;
  for (;;) {
    auto page = list_parked(f.connection, q, f.prefix);
    REQUIRE(page.ok());
    ++pages;
    for (const auto& r : page->items) {
      CHECK(r.group == "g1");
      CHECK(ids.insert(r.id).second);
    }
    if (!page->next_after_id) break;
    q.after_id = *page->next_after_id;
  }
  CHECK(ids.size() == 7);
  CHECK(pages == 3);

  ParkedQuery by_class;
  by_class.error_class = "paypipe.events.SchemaViolation";
  CHECK(list_parked(f.connection, by_class, f.prefix)->items.size() == 3);
  ParkedQuery by_topic;  // the logical name and the full name both work
  by_topic.topic = "payment.completed";
  CHECK(list_parked(f.connection, by_topic, f.prefix)->items.size() == 10);
  by_topic.topic = f.options.topic("payment.completed");
  CHECK(list_parked(f.connection, by_topic, f.prefix)->items.size() == 10);
  by_topic.topic = "order.created";
  CHECK(list_parked(f.connection, by_topic, f.prefix)->items.empty());
}

TEST_CASE("a replay sends the record to retry.<group> with a fresh budget, once; purge retires a row") {
  testing::RetrierFixture f({"g1"});
  const auto parked = park(f, "g1", 11);
  ParkedOperations operations(f.pool, *f.producer, f.options);
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));

  auto replayed = operations.replay(parked.id);
  REQUIRE(replayed.ok());
  CHECK(replayed->status == "REPLAYED");
  CHECK_FALSE(replayed->replayed_at.empty());
  CHECK(replayed->replay_count == 1);
  const auto& seen = retry.poll_for(20s, 1);
  REQUIRE(seen.size() == 1);
  const auto& r = seen[0].record;
  CHECK(r.key == parked.key);
  CHECK(r.value == parked.value);
  CHECK(*events::find_header(r.headers, "attempt") == "1");
  CHECK(*events::find_header(r.headers, "ce_id") == *events::find_header(parked.headers, "ce_id"));

  // Not PARKED any more: a second replay is refused and sends nothing.
  auto again = operations.replay(parked.id);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().category == core::ErrorCategory::conflict);
  CHECK(retry.poll_for(1s).size() == 1);

  auto missing = operations.replay(999999);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().category == core::ErrorCategory::not_found);

  const auto other = park(f, "g1", 12);
  auto purged = operations.purge(other.id);
  REQUIRE(purged.ok());
  CHECK(purged->status == "PURGED");
  CHECK_FALSE(purged->purged_at.empty());
  CHECK(operations.purge(other.id).ok());  // idempotent
  CHECK(operations.replay(other.id).error().category == core::ErrorCategory::conflict);
  CHECK(operations.purge(999999).error().category == core::ErrorCategory::not_found);
  CHECK(operations.list(ParkedQuery{})->items.empty());  // the default view shows PARKED rows only
}

TEST_CASE("replaying a group sends each of its parked records once and leaves other groups alone") {
  testing::RetrierFixture f({"g1", "g2"});
  for (int i = 0; i < 5; ++i) park(f, "g1", i);
  for (int i = 0; i < 2; ++i) park(f, "g2", i);
  ParkedOperations operations(f.pool, *f.producer, f.options);
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));

  auto replayed = operations.replay_group("g1");
  REQUIRE(replayed.ok());
  CHECK(*replayed == 5);
  const auto& seen = retry.poll_for(20s, 5);
  CHECK(retry.poll_for(1s).size() == 5);
  std::set<std::string> keys;
  for (const auto& s : seen) keys.insert(*s.record.key);
  CHECK(keys.size() == 5);
  CHECK(f.count("SELECT count(*) FROM parked_records WHERE consumer_group = 'g1' AND status = 'REPLAYED'") == 5);
  CHECK(f.count("SELECT count(*) FROM parked_records WHERE consumer_group = 'g2' AND status = 'PARKED'") == 2);
  CHECK(*operations.replay_group("g1") == 0);  // nothing left to replay
}
