#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "events/committed.hpp"
#include "events/migrations.hpp"
#include "events/outbox.hpp"
#include "helpers.hpp"
#include "pg/migrate.hpp"
#include "support/fresh_schema.hpp"
#include "support/metrics.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

struct OutboxFixture : testing::KafkaFixture, testing::FreshSchema {
  OutboxFixture() : KafkaFixture({"payment.completed"}), FreshSchema("outbox", events::migrations::embedded_files()) {}

  std::vector<events::Event> write(int count) {
    std::vector<events::Event> written;
    auto tx = pg::Transaction::begin(connection);
    REQUIRE(tx.ok());
    for (int i = 0; i < count; ++i) {
      written.push_back(payment_completed(core::new_uuid_v7(), i));
      REQUIRE(events::append_to_outbox(*tx, written.back(), "payment").ok());
    }
    REQUIRE(tx->commit().ok());
    return written;
  }
};

}  // namespace

TEST_CASE("outbox rows are published exactly once with two relays running, then deleted") {
  OutboxFixture f;
  events::RelaySettings settings{f.schema, 50, 100ms, 10s};
  events::OutboxRelay first(testing::pg_options(f.schema), *f.producer, settings);
  events::OutboxRelay second(testing::pg_options(f.schema), *f.producer, settings);
  first.start();
  second.start();
  std::vector<events::Event> written;
  for (int round = 0; round < 10; ++round) {
    auto batch = f.write(100);
    written.insert(written.end(), batch.begin(), batch.end());
  }
  REQUIRE(testing::eventually([&] { return testing::query_integer(f.connection, "SELECT count(*) FROM outbox") == 0; },
                              30s));
  first.stop();
  second.stop();
  const auto records = testing::read_topic(f.options, f.options.topic("payment.completed"), 2000, 10s);
  std::multiset<std::string> ids;
  for (const auto& r : records) ids.insert(*events::find_header(r.headers, "ce_id"));
  CHECK(records.size() == written.size());
  for (const auto& e : written) CHECK(ids.count(e.id) == 1);
  // Published in write order (one partition per key here; check the CloudEvents attributes survived).
  auto decoded = events::from_record(records[0].key, records[0].value, records[0].headers);
  REQUIRE(decoded.ok());
  CHECK(decoded->source == "/paypipe/test");
  CHECK(decoded->dataschema == "https://paypipe.dev/schemas/events/payment.completed.v1.json");
}

TEST_CASE("each event's hops are measured: insert -> producer on the relay's and the fast path, producer -> ack") {
  OutboxFixture f;
  const auto count = [](const std::string& name, const prometheus::Labels& labels = {}) {
    return testing::metric_value(name, labels).value_or(0);
  };
  const double relay_before = count("outbox_commit_to_send_seconds", {{"path", "relay"}});
  const double fast_before = count("outbox_commit_to_send_seconds", {{"path", "fast"}});
  const double acks_before = count("kafka_produce_ack_seconds");
  // No relay runs while these are written: no fast path, the relay's pass publishes them.
  f.write(3);
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, {f.schema, 50, std::chrono::seconds(60), 10s});
  auto published = relay.publish_once(f.connection);
  REQUIRE(published.ok());
  CHECK(*published == 3);
  CHECK(count("outbox_commit_to_send_seconds", {{"path", "relay"}}) - relay_before == 3);
  CHECK(count("kafka_produce_ack_seconds") - acks_before >= 3);
  // With the relay running, writers publish their own events.
  relay.start();
  f.write(2);
  REQUIRE(testing::eventually([&] { return testing::query_integer(f.connection, "SELECT count(*) FROM outbox") == 0; },
                              10s, 5ms));
  relay.stop();
  CHECK(count("outbox_commit_to_send_seconds", {{"path", "fast"}}) - fast_before == 2);
  CHECK(count("kafka_produce_ack_seconds") - acks_before >= 5);
}

TEST_CASE("a relay turned off (Debezium publishes) publishes nothing and still reports itself healthy") {
  OutboxFixture f;
  events::RelaySettings settings{f.schema, 50, 20ms, 10s};
  settings.enabled = false;
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, settings);
  relay.start();
  f.write(3);  // the commit would wake a running relay at once
  // Absence can only be watched for a while: 25 poll intervals.
  CHECK_FALSE(testing::eventually(
      [&] { return testing::query_integer(f.connection, "SELECT count(*) FROM outbox") != 3; }, 500ms));
  CHECK(relay.running());
  CHECK(std::chrono::steady_clock::now() - relay.heartbeat() < 1s);
  relay.stop();
  CHECK(testing::read_topic(f.options, f.options.topic("payment.completed"), 1, 1s).empty());
}

TEST_CASE("an invalid event never reaches the outbox") {
  OutboxFixture f;
  auto tx = pg::Transaction::begin(f.connection);
  REQUIRE(tx.ok());
  auto event = f.payment_completed(core::new_uuid_v7());
  event.data = R"({"amount":"x"})";
  const auto status = events::append_to_outbox(*tx, event, "payment");
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == "outbox-schema-invalid");
}

TEST_CASE("nothing is deleted that Kafka did not acknowledge") {
  OutboxFixture f;
  // A producer pointed at a topic that does not exist: no acknowledgement comes.
  auto lonely = events::Producer::create(testing::kafka_options(f.prefix + "missing."),
                                         events::ProducerSettings{2ms, 1500ms, 1024, nullptr});
  REQUIRE(lonely.ok());
  f.write(3);
  events::OutboxRelay relay(testing::pg_options(f.schema), **lonely, {f.schema, 50, 100ms, 3s});
  auto published = relay.publish_once(f.connection);
  REQUIRE(published.ok());
  CHECK(*published == 0);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM outbox") == 3);
}

TEST_CASE("a commit wakes the relay at once, without waiting for the poll interval") {
  OutboxFixture f;
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, {f.schema, 50, std::chrono::seconds(30), 10s});
  relay.start();
  std::this_thread::sleep_for(300ms);  // let the relay settle into its wait
  const auto started = std::chrono::steady_clock::now();
  f.write(5);
  REQUIRE(testing::eventually([&] { return testing::query_integer(f.connection, "SELECT count(*) FROM outbox") == 0; },
                              10s, 5ms));
  CHECK(std::chrono::steady_clock::now() - started < 2s);  // far below the 30 s poll interval
  relay.stop();
}

TEST_CASE("a relay woken while another replica publishes passes the wake-up on with NOTIFY") {
  OutboxFixture f;
  // Another replica's relay, mid-publish: it holds the schema's publishing lock.
  auto other = testing::connect(f.schema);
  REQUIRE(other.exec("BEGIN").ok());
  REQUIRE(other.exec("SELECT pg_advisory_xact_lock(hashtext($1))", "paypipe.outbox." + f.schema).ok());
  auto listener = testing::connect(f.schema);
  REQUIRE(listener.listen("outbox_" + f.schema).ok());

  events::RelaySettings settings{f.schema, 50, std::chrono::seconds(30), 10s};
  settings.fast_path = false;  // every row goes through the pass that must hand over
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, settings);
  relay.start();
  f.write(1);
  auto notified = listener.wait_for_notification(5s);
  REQUIRE(notified.ok());
  CHECK(*notified);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM outbox") == 1);  // not ours to publish
  REQUIRE(other.exec("ROLLBACK").ok());
  relay.stop();
}

namespace {

// A row written as a buggy or misconfigured writer would: `type` names its topic.
std::string insert_raw(pg::Connection& connection, const std::string& type, const std::string& aggregate,
                       const std::string& payload_sql) {
  const auto id = core::new_uuid_v7();
  REQUIRE(
      connection
          .exec("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES ($1, 'payment', $2, $3, " +
                    payload_sql + ")",
                id, aggregate, type)
          .ok());
  return id;
}

std::string insert_good(testing::KafkaFixture& f, pg::Connection& connection, const std::string& aggregate) {
  auto tx = pg::Transaction::begin(connection);
  REQUIRE(tx.ok());
  auto event = f.payment_completed(aggregate);
  REQUIRE(events::append_to_outbox(*tx, event, "payment").ok());
  REQUIRE(tx->commit().ok());
  return event.id;
}

std::int64_t pending(pg::Connection& connection) {
  return testing::query_integer(connection, "SELECT count(*) FROM outbox WHERE set_aside_at IS NULL");
}

std::set<std::string> published_ids(const testing::KafkaFixture& f, std::size_t expected) {
  std::set<std::string> ids;
  for (const auto& r : testing::read_topic(f.options, f.options.topic("payment.completed"), expected, 10s)) {
    ids.insert(*events::find_header(r.headers, "ce_id"));
  }
  return ids;
}

}  // namespace

TEST_CASE("a row too large for Kafka is set aside with its reason and the rows after it flow") {
  OutboxFixture f;
  const auto a = insert_good(f, f.connection, core::new_uuid_v7());
  const auto big_aggregate = core::new_uuid_v7();
  const auto big = insert_raw(f.connection, "payment.completed", big_aggregate,
                              "jsonb_build_object('blob', repeat('x', 2000000))");
  const auto b = insert_good(f, f.connection, core::new_uuid_v7());
  const auto after_big = insert_good(f, f.connection, big_aggregate);  // same aggregate, later
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, {f.schema, 50, 100ms, 10s});

  auto first = relay.publish_once(f.connection);
  REQUIRE(first.ok());
  CHECK(*first == 2);  // a and b; after_big waits behind its aggregate's failed row
  auto rows = events::list_set_aside(f.connection);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].id == big);
  CHECK((*rows)[0].reason.find("MSG_SIZE_TOO_LARGE") != std::string::npos);
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM outbox WHERE id = '" + after_big + "'") == 1);

  // The bad row no longer holds anything back.
  auto second = relay.publish_once(f.connection);
  REQUIRE(second.ok());
  CHECK(*second == 1);
  CHECK(pending(f.connection) == 0);
  const auto ids = published_ids(f, 3);
  CHECK(ids == std::set<std::string>{a, b, after_big});

  // An operator puts it back in line (here it fails again: still too large).
  auto requeued = events::requeue_set_aside(f.connection, {big});
  REQUIRE(requeued.ok());
  CHECK(*requeued == 1);
  CHECK(pending(f.connection) == 1);
}

TEST_CASE("a row for a topic that does not exist is set aside, the rest flows, its aggregate's order is kept") {
  OutboxFixture f;
  // The test broker does not create topics on demand (scripts/stack.py).
  events::ProducerSettings quick;
  quick.delivery_timeout = 2000ms;
  auto producer = events::Producer::create(f.options, quick);
  REQUIRE(producer.ok());
  const auto aggregate = core::new_uuid_v7();
  const auto lost = insert_raw(f.connection, "no.such.topic", aggregate, "'{}'::jsonb");
  const auto behind = insert_good(f, f.connection, aggregate);  // same aggregate: must not overtake
  std::vector<std::string> others;
  for (int i = 0; i < 4; ++i) others.push_back(insert_good(f, f.connection, core::new_uuid_v7()));
  events::OutboxRelay relay(testing::pg_options(f.schema), **producer, {f.schema, 50, 100ms, 5s});

  auto first = relay.publish_once(f.connection);
  REQUIRE(first.ok());
  CHECK(*first == 4);  // the others; `behind` was acknowledged but is not deleted ahead of `lost`
  CHECK(testing::query_integer(f.connection, "SELECT count(*) FROM outbox WHERE id = '" + behind + "'") == 1);

  // Each pass waits at most the delivery timeout for `lost`; within set_aside_after
  // passes it is set aside, and `behind` follows it.
  const auto started = std::chrono::steady_clock::now();
  for (int pass = 0; pass < 3 && pending(f.connection) > 0; ++pass) {
    // Fresh rows keep flowing while `lost` is retried.
    others.push_back(insert_good(f, f.connection, core::new_uuid_v7()));
    REQUIRE(relay.publish_once(f.connection).ok());
  }
  CHECK(pending(f.connection) == 0);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  auto rows = events::list_set_aside(f.connection);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].id == lost);
  CHECK_FALSE((*rows)[0].reason.empty());
  // `behind` twice: acknowledged in the first pass but kept (its aggregate's earlier row
  // failed), published again once that row was set aside.
  const auto ids = published_ids(f, others.size() + 2);
  CHECK(ids.count(behind) == 1);
  for (const auto& id : others) CHECK(ids.count(id) == 1);
}

TEST_CASE("with Kafka down the backlog gauges show the rows waiting and their growing age; 0 once published") {
  OutboxFixture f;
  auto backlog = [](const char* name) { return testing::metric_value(name).value_or(-1); };
  // No broker listens on port 1: nothing is ever acknowledged.
  auto options = testing::kafka_options(f.prefix);
  options.bootstrap_servers = "127.0.0.1:1";
  auto unreachable = events::Producer::create(options, events::ProducerSettings{2ms, 1000ms, 1024, nullptr});
  REQUIRE(unreachable.ok());
  events::RelaySettings settings{f.schema, 50, 100ms, 2s};
  settings.backlog_interval = 50ms;
  {
    events::OutboxRelay stuck(testing::pg_options(f.schema), **unreachable, settings);
    stuck.start();
    f.write(3);
    REQUIRE(testing::eventually([&] { return backlog("outbox_pending_rows") == 3; }, 10s));
    const double age = backlog("outbox_oldest_age_seconds");
    CHECK(age >= 0);
    CHECK(testing::eventually([&] { return backlog("outbox_oldest_age_seconds") >= age + 0.5; }, 10s));
    CHECK(backlog("outbox_pending_rows") == 3);
  }
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, settings);
  relay.start();
  CHECK(testing::eventually(
      [&] { return backlog("outbox_pending_rows") == 0 && backlog("outbox_oldest_age_seconds") == 0; }, 30s));
  relay.stop();
}

TEST_CASE("the backlog is counted exactly up to its bound, estimated beyond") {
  OutboxFixture f;
  f.write(5);
  REQUIRE(f.connection.exec("ANALYZE outbox").ok());
  auto exact = events::measure_backlog(f.connection);
  REQUIRE(exact.ok());
  CHECK(exact->pending_rows == 5);
  CHECK(exact->oldest_age_seconds >= 0);
  auto bounded = events::measure_backlog(f.connection, 2);
  REQUIRE(bounded.ok());
  CHECK(bounded->pending_rows == 5);  // the bound reached: the table's estimate, from ANALYZE
  REQUIRE(f.connection.exec("UPDATE outbox SET set_aside_at = now()").ok());
  auto aside = events::measure_backlog(f.connection);
  REQUIRE(aside.ok());
  CHECK(aside->pending_rows == 0);
  CHECK(aside->oldest_age_seconds == 0);
}

TEST_CASE("a backlog written after a vacuum emptied the outbox is read by its index once the backlog is measured") {
  OutboxFixture f;
  // The steady state: rows come and go, and a vacuum of the emptied table truncates it,
  // leaving statistics that say "empty". A burst then comes faster than autovacuum's
  // next ANALYZE (a Kafka outage, a drain after a deploy).
  f.write(10);
  REQUIRE(f.connection.exec("DELETE FROM outbox").ok());
  REQUIRE(f.connection.exec("VACUUM outbox").ok());
  REQUIRE(f.connection
              .exec("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers) "
                    "SELECT gen_random_uuid(), 'payment', gen_random_uuid()::text, "
                    "'dev.paypipe.payment.completed.v1', '{}', '{}' FROM generate_series(1, 20000)")
              .ok());
  // The relay's read (outbox.cpp): planned as if the table were empty, it reads every
  // pending row and sorts them, in every pass of 500.
  const auto relay_read_plan = [&] {
    auto plan = f.connection.exec(
        "EXPLAIN SELECT id FROM outbox WHERE set_aside_at IS NULL ORDER BY seq LIMIT 500 FOR UPDATE SKIP LOCKED");
    REQUIRE(plan.ok());
    std::string text;
    for (int i = 0; i < plan->size(); ++i) text += plan->str(i, 0) + "\n";
    return text;
  };
  INFO(relay_read_plan());
  // What the relay's backlog thread runs every backlog_interval.
  auto backlog = events::measure_backlog(f.connection);
  REQUIRE(backlog.ok());
  CHECK(backlog->pending_rows == 20000);
  const auto plan = relay_read_plan();
  INFO(plan);
  CHECK(plan.find("Index Scan using outbox_pending_idx") != std::string::npos);
  CHECK(plan.find("Sort") == std::string::npos);
}

// The fast path (outbox.hpp): writers publish their committed events themselves; the
// relay's pass (the sweep) publishes what they left.

namespace {

bool fast_path_of(pg::Connection& connection, const std::string& id) {
  return testing::query_integer(connection, "SELECT fast_path::int FROM outbox WHERE id = '" + id + "'") == 1;
}

std::int64_t rows_in_outbox(pg::Connection& connection) {
  return testing::query_integer(connection, "SELECT count(*) FROM outbox");
}

// The payment.completed records of `key`, as event ids in the order Kafka holds them.
std::vector<std::string> ids_of_key(const std::vector<events::ConsumedRecord>& records, const std::string& key) {
  std::vector<std::string> ids;
  for (const auto& r : records) {
    if (r.key == key) ids.push_back(*events::find_header(r.headers, "ce_id"));
  }
  return ids;
}

events::KafkaOptions unreachable_kafka(const std::string& prefix) {
  auto options = testing::kafka_options(prefix);
  options.bootstrap_servers = "127.0.0.1:1";  // no broker listens there: nothing is acknowledged
  return options;
}

}  // namespace

TEST_CASE("fast path: committed events go to Kafka from the writer, their rows are deleted without the relay's pass") {
  OutboxFixture f;
  const double before = testing::metric_value("outbox_fast_path_total").value_or(0);
  // A poll interval far beyond the test: only the fast path can publish in time.
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, {f.schema, 50, std::chrono::seconds(60), 10s});
  relay.start();
  auto written = f.write(40);
  // An event rolled back to a savepoint is never published; the one after it is.
  auto tx = pg::Transaction::begin(f.connection);
  REQUIRE(tx.ok());
  REQUIRE(tx->savepoint("item").ok());
  const auto undone = f.payment_completed(core::new_uuid_v7());
  REQUIRE(events::append_to_outbox(*tx, undone, "payment").ok());
  REQUIRE(tx->rollback_to("item").ok());
  written.push_back(f.payment_completed(core::new_uuid_v7()));
  REQUIRE(events::append_to_outbox(*tx, written.back(), "payment").ok());
  REQUIRE(tx->commit().ok());

  REQUIRE(testing::eventually([&] { return rows_in_outbox(f.connection) == 0; }, 10s, 5ms));
  CHECK(testing::metric_value("outbox_fast_path_total").value_or(0) - before == 41);
  relay.stop();
  const auto records = testing::read_topic(f.options, f.options.topic("payment.completed"), 42, 5s);
  std::multiset<std::string> ids;
  for (const auto& r : records) ids.insert(*events::find_header(r.headers, "ce_id"));
  CHECK(records.size() == written.size());
  for (const auto& e : written) CHECK(ids.count(e.id) == 1);
  CHECK(ids.count(undone.id) == 0);
}

TEST_CASE("the relay's connections name their job in pg_stat_activity: relay, backlog gauges, deleter") {
  OutboxFixture f;
  auto options = testing::pg_options(f.schema);
  options.application_name = "names-" + f.schema;  // its own, apart from tests running alongside
  events::OutboxRelay relay(options, *f.producer, {f.schema, 50, 100ms, 10s});
  relay.start();
  (void)f.write(5);  // the deleter connects for its first delete
  for (const std::string job : {"outbox-relay", "outbox-backlog", "outbox-deleter"}) {
    CHECK(testing::eventually(
        [&] {
          return testing::query_integer(f.connection,
                                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                            options.application_name + "/" + job + "'") == 1;
        },
        10s));
  }
  relay.stop();
}

TEST_CASE("fast path: an event whose key still has a row waits for the sweep, which keeps the key's order") {
  OutboxFixture f;
  const auto key = core::new_uuid_v7();
  const auto other = core::new_uuid_v7();
  std::string first, second, third;
  {
    // A writer whose events never reach Kafka: as if it died between COMMIT and publish.
    auto unreachable = events::Producer::create(unreachable_kafka(f.prefix),
                                                events::ProducerSettings{2ms, 1000ms, 1024, nullptr});
    REQUIRE(unreachable.ok());
    events::OutboxRelay writer(testing::pg_options(f.schema), **unreachable, {f.schema, 50, 100ms, 2s});
    writer.start();
    first = insert_good(f, f.connection, key);
    second = insert_good(f, f.connection, key);  // `first` is still in the outbox
    third = insert_good(f, f.connection, other);
    CHECK(fast_path_of(f.connection, first));
    CHECK_FALSE(fast_path_of(f.connection, second));
    CHECK(fast_path_of(f.connection, third));
    writer.stop();
  }
  // The sweep leaves fast-path rows to their writer for the grace period, and `second`
  // waits behind `first`.
  events::OutboxRelay sweep(testing::pg_options(f.schema), *f.producer, {f.schema, 50, 100ms, 10s});
  auto early = sweep.publish_once(f.connection);
  REQUIRE(early.ok());
  CHECK(*early == 0);
  CHECK(rows_in_outbox(f.connection) == 3);
  // The grace period passes: the sweep publishes what the writer left, in order.
  REQUIRE(f.connection.exec("UPDATE outbox SET created_at = created_at - interval '1 hour'").ok());
  auto late = sweep.publish_once(f.connection);
  REQUIRE(late.ok());
  CHECK(*late == 3);
  // The key's rows are gone: its next event takes the fast path again.
  sweep.start();
  const auto fourth = insert_good(f, f.connection, key);
  REQUIRE(testing::eventually([&] { return rows_in_outbox(f.connection) == 0; }, 10s, 5ms));
  sweep.stop();
  const auto records = testing::read_topic(f.options, f.options.topic("payment.completed"), 4, 10s);
  CHECK(ids_of_key(records, key) == std::vector<std::string>{first, second, fourth});
  CHECK(ids_of_key(records, other) == std::vector<std::string>{third});
}

TEST_CASE("fast path: an event the producer refuses holds back the later events of its key from the same insert") {
  OutboxFixture f;
  events::RelaySettings settings{f.schema, 50, 100ms, 10s};
  settings.fast_path_grace = 60s;  // the sweep stays out of this test
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, settings);
  relay.start();
  const auto key = core::new_uuid_v7();
  auto refused = f.payment_completed(key);
  refused.source = "/" + std::string(2'000'000, 'x');  // a record over Kafka's message.max.bytes
  const auto after = f.payment_completed(key);
  const auto other = f.payment_completed(core::new_uuid_v7());
  auto tx = pg::Transaction::begin(f.connection);
  REQUIRE(tx.ok());
  auto prepared = events::OutboxInsert::prepare({refused, after, other}, "payment");
  REQUIRE(prepared.ok());
  // Moved outside REQUIRE, which spells its expression twice.
  const auto ran = std::move(prepared).value().run(*tx);
  REQUIRE(ran.ok());
  REQUIRE(tx->commit().ok());
  // `after` must not reach Kafka ahead of `refused`: both rows wait for the sweep. Absence
  // can only be watched for a while.
  CHECK_FALSE(testing::eventually([&] { return rows_in_outbox(f.connection) < 2; }, 1s));
  CHECK(testing::query_integer(
            f.connection, "SELECT count(*) FROM outbox WHERE id IN ('" + refused.id + "', '" + after.id + "')") == 2);
  relay.stop();
  CHECK(ids_of_key(testing::read_topic(f.options, f.options.topic("payment.completed"), 1, 2s), key).empty());
}

namespace {

// outbox_crash_writer as a child process: its "committed <round>" lines are read with a
// deadline; kill() is kill -9.
class CrashWriter {
 public:
  CrashWriter(const OutboxFixture& f, const std::string& bootstrap, int first_round, int rounds, int keys) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    const std::vector<std::string> args{PAYPIPE_OUTBOX_CRASH_WRITER,
                                        testing::stack().pg_dsn,
                                        f.schema,
                                        bootstrap,
                                        f.prefix,
                                        std::to_string(first_round),
                                        std::to_string(rounds),
                                        std::to_string(keys)};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~CrashWriter() {
    kill();
    ::close(out_);
  }

  // Reads lines until `rounds` rounds were committed (or the timeout); returns the last
  // round it reported committed, -1 if none.
  int wait_committed(int rounds, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (committed_ < rounds && std::chrono::steady_clock::now() < until) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char chunk[256];
      const auto n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      for (auto end = buffer_.find('\n'); end != std::string::npos; end = buffer_.find('\n')) {
        int round = -1;
        if (std::sscanf(buffer_.substr(0, end).c_str(), "committed %d", &round) == 1) {
          last_ = round;
          ++committed_;
        }
        buffer_.erase(0, end + 1);
      }
    }
    return last_;
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  int committed_ = 0;
  int last_ = -1;
};

std::string key_of(int k) {  // as outbox_crash_writer names its keys
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "00000000-0000-4000-8000-%012d", k);
  return buffer;
}

}  // namespace

TEST_CASE("fast path: past fast_path_max_events writers leave their events to the sweep, which publishes them once") {
  OutboxFixture f;
  std::vector<events::Event> written;
  for (int i = 0; i < 30; ++i) written.push_back(f.payment_completed(core::new_uuid_v7()));
  const double left_before = testing::metric_value("outbox_fast_path_left_total").value_or(0);
  {
    // Nothing is ever acknowledged: what the writer hands over stays held.
    auto unreachable = events::Producer::create(unreachable_kafka(f.prefix),
                                                events::ProducerSettings{2ms, 3000ms, 1024, nullptr});
    REQUIRE(unreachable.ok());
    events::RelaySettings settings{f.schema, 50, 100ms, 1s};
    settings.fast_path_max_events = 10;
    events::OutboxRelay writer(testing::pg_options(f.schema), **unreachable, settings);
    writer.start();
    auto tx = pg::Transaction::begin(f.connection);
    REQUIRE(tx.ok());
    auto prepared = events::OutboxInsert::prepare(written, "payment");
    REQUIRE(prepared.ok());
    const auto ran = std::move(prepared).value().run(*tx);
    REQUIRE(ran.ok());
    REQUIRE(tx->commit().ok());
    CHECK(testing::metric_value("outbox_fast_path_left_total").value_or(0) - left_before == 20);
    CHECK(testing::eventually([] { return testing::metric_value("outbox_fast_path_held") == 10; }, 2s, 5ms));
    writer.stop();
  }
  // Every row is still there (fast_path, its writer's for the grace period); once it has
  // passed, the sweep publishes all of them, each once.
  CHECK(rows_in_outbox(f.connection) == 30);
  REQUIRE(f.connection.exec("UPDATE outbox SET created_at = created_at - interval '1 hour'").ok());
  events::OutboxRelay sweep(testing::pg_options(f.schema), *f.producer, {f.schema, 50, 100ms, 10s});
  sweep.start();
  REQUIRE(testing::eventually([&] { return rows_in_outbox(f.connection) == 0; }, 10s, 5ms));
  sweep.stop();
  const auto records = testing::read_topic(f.options, f.options.topic("payment.completed"), 30, 10s);
  std::multiset<std::string> ids;
  for (const auto& r : records) ids.insert(*events::find_header(r.headers, "ce_id"));
  CHECK(records.size() == written.size());
  for (const auto& e : written) CHECK(ids.count(e.id) == 1);
}

TEST_CASE("fast path: a small fast_path_max_events under steady writes loses nothing and keeps each key's order") {
  OutboxFixture f;
  const double left_before = testing::metric_value("outbox_fast_path_left_total").value_or(0);
  events::RelaySettings settings{f.schema, 50, 100ms, 10s};
  settings.fast_path_max_events = 4;
  settings.fast_path_grace = 1000ms;
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, settings);
  relay.start();
  constexpr int keys = 7;
  std::map<std::string, std::vector<std::string>> written;  // per key, ids in commit order
  for (int round = 0; round < 20; ++round) {
    auto tx = pg::Transaction::begin(f.connection);
    REQUIRE(tx.ok());
    std::vector<events::Event> events;
    for (int i = 0; i < 10; ++i) {
      events.push_back(f.payment_completed(key_of((round * 10 + i) % keys)));
      written[events.back().key].push_back(events.back().id);
    }
    auto prepared = events::OutboxInsert::prepare(std::move(events), "payment");
    REQUIRE(prepared.ok());
    const auto ran = std::move(prepared).value().run(*tx);
    REQUIRE(ran.ok());
    REQUIRE(tx->commit().ok());
  }
  REQUIRE(testing::eventually([&] { return rows_in_outbox(f.connection) == 0; }, 60s));
  relay.stop();
  // The first insert alone hands over 10 events: at least 6 of them waited for the sweep.
  CHECK(testing::metric_value("outbox_fast_path_left_total").value_or(0) - left_before >= 6);
  const auto records = testing::read_topic(f.options, f.options.topic("payment.completed"), 200, 15s);
  CHECK(records.size() == 200);
  for (const auto& [key, ids] : written) {
    INFO("key " << key);
    CHECK(ids_of_key(records, key) == ids);
  }
}

TEST_CASE("fast path: writers killed -9 between commit and publish lose nothing and keep each key's order") {
  OutboxFixture f;
  constexpr int keys = 6;
  std::vector<std::pair<int, int>> committed;  // [first, last] round of each writer
  {
    // Killed mid-stream while its fast path and its relay publish.
    CrashWriter busy(f, testing::stack().kafka_bootstrap, 0, 100000, keys);
    const int last = busy.wait_committed(30, 30s);
    REQUIRE(last >= 0);
    busy.kill();
    committed.emplace_back(0, last);
  }
  {
    // Killed after its commits, before any reached Kafka (it never reaches a broker).
    CrashWriter cut_off(f, "127.0.0.1:1", 100000, 5, keys);
    const int last = cut_off.wait_committed(5, 30s);
    REQUIRE(last == 100004);
    cut_off.kill();
    committed.emplace_back(100000, last);
  }
  REQUIRE(rows_in_outbox(f.connection) > 0);
  // A replica that lives on: its fast path must not overtake what the dead ones left.
  events::RelaySettings settings{f.schema, 50, 100ms, 10s};
  settings.fast_path_grace = 1000ms;
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, settings);
  relay.start();
  for (int round = 200000; round < 200010; ++round) {
    auto tx = pg::Transaction::begin(f.connection);
    REQUIRE(tx.ok());
    for (int k = 0; k < keys; ++k) {
      REQUIRE(events::append_to_outbox(*tx, f.payment_completed(key_of(k), round + 1), "payment").ok());
    }
    REQUIRE(tx->commit().ok());
  }
  committed.emplace_back(200000, 200009);
  REQUIRE(testing::eventually([&] { return rows_in_outbox(f.connection) == 0; }, 60s));
  relay.stop();

  std::size_t expected = 0;
  for (const auto& [from, to] : committed) expected += static_cast<std::size_t>(to - from + 1) * keys;
  // At least once: a row whose writer died after Kafka took it is published again.
  const auto records = testing::read_topic(f.options, f.options.topic("payment.completed"), expected * 2, 15s);
  std::map<std::string, std::vector<std::int64_t>> first_seen;  // per key, rounds in first-delivery order
  std::set<std::string> seen;
  for (const auto& r : records) {
    if (!seen.insert(*events::find_header(r.headers, "ce_id")).second) continue;
    auto decoded = events::from_record(r.key, r.value, r.headers);
    REQUIRE(decoded.ok());
    auto data = core::json::parse(decoded->data);
    REQUIRE(data.ok());
    first_seen[*r.key].push_back((*data)["amount"].GetInt64() - 1);
  }
  REQUIRE(first_seen.size() == keys);
  for (const auto& [key, rounds] : first_seen) {
    INFO("key " << key);
    // Order per key: every event after the events written before it.
    CHECK(std::is_sorted(rounds.begin(), rounds.end()));
    CHECK(std::set<std::int64_t>(rounds.begin(), rounds.end()).size() == rounds.size());
    // Nothing lost: every round a writer reported committed (a round committed just
    // before the kill, unreported, may be there too).
    const std::set<std::int64_t> have(rounds.begin(), rounds.end());
    for (const auto& [from, to] : committed) {
      for (int round = from; round <= to; ++round) CHECK(have.count(round) == 1);
    }
  }
}

TEST_CASE("fast path: the committed-events listeners hear every event whole, those the writer publishes included") {
  OutboxFixture f;
  events::OutboxRelay relay(testing::pg_options(f.schema), *f.producer, {f.schema, 50, std::chrono::seconds(60), 10s});
  relay.start();
  std::mutex mutex;
  std::map<std::string, events::Event> heard;
  const auto listener = events::add_committed_listener([&](const std::vector<events::Event>& events) {
    std::lock_guard lock(mutex);
    for (const auto& e : events) heard.emplace(e.id, e);
  });
  const auto written = f.write(5);
  events::remove_committed_listener(listener);
  REQUIRE(testing::eventually([&] { return rows_in_outbox(f.connection) == 0; }, 10s, 5ms));
  relay.stop();
  std::lock_guard lock(mutex);
  REQUIRE(heard.size() == written.size());
  for (const auto& e : written) {
    INFO(e.id);
    REQUIRE(heard.count(e.id) == 1);
    CHECK(heard.at(e.id).type == e.type);
    CHECK(heard.at(e.id).key == e.key);
    CHECK(heard.at(e.id).data == e.data);
  }
}

TEST_CASE("fast path: the sweep's read costs a window of rows, not the backlog (index scans, no hash of every row)") {
  OutboxFixture f;
  // 30,000 pending rows: every other key's first row still its writer's (fast_path, in
  // the grace period), each followed by a row of the same key the writer left.
  REQUIRE(f.connection
              .exec("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, fast_path) "
                    "SELECT gen_random_uuid(), 'payment', 'k' || (i / 2), 'dev.paypipe.payment.completed.v1', "
                    "'{}', '{}', i % 4 = 0 FROM generate_series(1, 30000) i")
              .ok());
  REQUIRE(f.connection.exec("ANALYZE outbox").ok());
  REQUIRE(f.connection.exec("PREPARE sweep(bigint, bigint, bigint) AS " + std::string(events::sweep_read_sql())).ok());
  auto plan = f.connection.exec("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE sweep(500, 3000, 2000)");
  REQUIRE(plan.ok());
  std::string text;
  for (int i = 0; i < plan->size(); ++i) text += plan->str(i, 0) + "\n";
  INFO(text);
  CHECK(text.find("Hash Anti Join") == std::string::npos);
  CHECK(text.find("Seq Scan") == std::string::npos);
  CHECK(text.find("external merge") == std::string::npos);
  CHECK(text.find("Index Scan using outbox_pending_idx") != std::string::npos);
  // What it chose: the rows in the window, in seq order, none behind its key's writer.
  auto rows = f.connection.exec("EXECUTE sweep(500, 3000, 2000)");
  REQUIRE(rows.ok());
  CHECK(rows->size() > 0);
  CHECK(rows->size() <= 500);
}
