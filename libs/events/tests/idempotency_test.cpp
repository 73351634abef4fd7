#include <catch2/catch.hpp>

#include "events/consumer_runtime.hpp"
#include "events/idempotency.hpp"
#include "events/migrations.hpp"
#include "helpers.hpp"
#include "support/fresh_schema.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

struct LedgerFixture : testing::KafkaFixture, testing::FreshSchema {
  pg::Pool pool{pg::PoolOptions{testing::pg_options(schema), 4, 5000ms}};

  LedgerFixture()
      : KafkaFixture({"payment.completed", "retry.ledger", "dlq.ledger"}),
        FreshSchema("ledger", events::migrations::embedded_files()) {
    REQUIRE(connection.exec("CREATE TABLE ledger (event_id uuid, amount bigint)").ok());
  }

  // The effect: one ledger row per event; a negative amount is refused (fatal).
  static core::Status apply(pg::Transaction& tx, const events::ConsumedEvent& e) {
    const auto amount = (*core::json::parse(e.event.data))["amount"].GetInt64();
    if (amount == 13) return core::make_error(core::ErrorCategory::invalid_input, "unlucky", "13 is refused");
    auto r = tx.exec("INSERT INTO ledger VALUES ($1, $2)", e.event.id, amount);
    if (!r) return r.error();
    return {};
  }

  events::ConsumedEvent consumed(const events::Event& e) { return events::ConsumedEvent{e, "t", 0, 0, 1}; }
};

}  // namespace

TEST_CASE("apply_exactly_once skips events already processed, also within one batch") {
  LedgerFixture f;
  const auto a = f.consumed(f.payment_completed(core::new_uuid_v7(), 1));
  const auto b = f.consumed(f.payment_completed(core::new_uuid_v7(), 2));
  std::vector<events::ConsumedEvent> batch{a, b, a};
  auto outcomes = events::apply_exactly_once(f.pool, "ledger", batch, LedgerFixture::apply, "test");
  REQUIRE(outcomes.size() == 3);
  for (const auto& o : outcomes) CHECK(o.succeeded());
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM ledger") == 2);
  outcomes = events::apply_exactly_once(f.pool, "ledger", batch, LedgerFixture::apply, "test");
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM ledger") == 2);
}

TEST_CASE("one failing event in a batch touches neither the others' effects nor their outcomes") {
  LedgerFixture f;
  std::vector<events::ConsumedEvent> batch{f.consumed(f.payment_completed(core::new_uuid_v7(), 1)),
                                           f.consumed(f.payment_completed(core::new_uuid_v7(), 13)),
                                           f.consumed(f.payment_completed(core::new_uuid_v7(), 3))};
  const auto outcomes = events::apply_exactly_once(f.pool, "ledger", batch, LedgerFixture::apply, "test");
  CHECK(outcomes[0].succeeded());
  CHECK(outcomes[1].kind == events::Outcome::Kind::fatal);
  CHECK(outcomes[1].error_class == "paypipe.test.Unlucky");
  CHECK(outcomes[2].succeeded());
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM ledger") == 2);
  // The failed event was not recorded as processed: it can succeed later.
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM processed_events") == 2);
}

TEST_CASE("events processed but never committed are redelivered and change nothing") {
  LedgerFixture f;
  std::vector<events::Event> sent;
  for (int i = 0; i < 50; ++i) {
    sent.push_back(f.payment_completed(core::new_uuid_v7(), 100 + i));
    f.send(sent.back());
  }
  f.flush();
  // A consumer that processed everything and died before committing any offset:
  // the effects are in the database, the group has no committed offset.
  std::vector<events::ConsumedEvent> processed;
  for (const auto& e : sent) processed.push_back(f.consumed(e));
  for (const auto& o : events::apply_exactly_once(f.pool, "ledger", processed, LedgerFixture::apply, "test")) {
    REQUIRE(o.succeeded());
  }
  // Its replacement gets every record again.
  std::atomic<std::size_t> delivered{0};
  events::RuntimeSettings settings;
  settings.consumer.group = "ledger";
  settings.consumer.topics = {"payment.completed"};
  settings.batch_size = 20;
  auto apply = events::exactly_once_handler(f.pool, "ledger", LedgerFixture::apply, "test");
  auto runtime = events::ConsumerRuntime::batch(f.options, settings, *f.producer,
                                                [&](std::span<const events::ConsumedEvent> batch) {
                                                  delivered += batch.size();
                                                  return apply(batch);
                                                });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually([&] { return delivered.load() >= sent.size(); }, 30s));
  (*runtime)->stop();
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM ledger") == 50);
  CHECK(testing::query_integer(f.connection, "SELECT count(DISTINCT event_id) FROM ledger") == 50);
}

TEST_CASE("an infrastructure failure of one event in a replayed batch commits none of the batch") {
  LedgerFixture f;
  // 40001 for the second event (a serialization failure), a domain refusal for the
  // third: the replay must not commit the fourth before the second.
  auto apply = [](pg::Transaction& tx, const events::ConsumedEvent& e) -> core::Status {
    const auto amount = (*core::json::parse(e.event.data))["amount"].GetInt64();
    if (amount == 40001) return core::make_error(core::ErrorCategory::unavailable, "pg-40001", "could not serialize");
    return LedgerFixture::apply(tx, e);
  };
  std::vector<events::ConsumedEvent> batch{f.consumed(f.payment_completed(core::new_uuid_v7(), 1)),
                                           f.consumed(f.payment_completed(core::new_uuid_v7(), 40001)),
                                           f.consumed(f.payment_completed(core::new_uuid_v7(), 13)),
                                           f.consumed(f.payment_completed(core::new_uuid_v7(), 4))};
  const auto outcomes = events::apply_exactly_once(f.pool, "ledger", batch, apply, "test");
  REQUIRE(outcomes.size() == 4);
  for (const auto& o : outcomes) CHECK(o.kind == events::Outcome::Kind::infrastructure);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM ledger") == 0);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM processed_events") == 0);

  // The same for consumers that write a decoded batch with set-based statements.
  std::vector<std::int64_t> amounts{1, 13, 40001, 4};
  auto range = [&](pg::Transaction& tx, std::size_t first, std::size_t count) -> core::Status {
    for (std::size_t i = first; i < first + count; ++i) {
      if (amounts[i] == 40001) return core::make_error(core::ErrorCategory::unavailable, "pg-40P01", "deadlock");
      if (amounts[i] == 13) return core::make_error(core::ErrorCategory::invalid_input, "unlucky", "13");
      if (auto r = tx.exec("INSERT INTO ledger VALUES ($1, $2)", core::new_uuid_v7(), amounts[i]); !r) return r.error();
    }
    return {};
  };
  const auto replayed = events::apply_batch_or_replay(f.pool, amounts.size(), range, "test", nullptr);
  REQUIRE(replayed.size() == 4);
  for (const auto& o : replayed) CHECK(o.kind == events::Outcome::Kind::infrastructure);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM ledger") == 0);
}
