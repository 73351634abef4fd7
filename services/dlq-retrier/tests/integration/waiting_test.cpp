// Dead letters before they are parked, on the real broker and PostgreSQL: the per-group
// summary and the pages, retry-now of one record (sent once, even when the retrier's
// own schedule comes later), skip (parked, never retried), retry-all, and the same
// through the dlq-retrier binary's `dead-letters` subcommands.
#include "dlq_retrier/waiting_operations.hpp"

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "core/json.hpp"
#include "dlq_retrier/config.hpp"
#include "dlq_retrier/retrier.hpp"
#include "dlq_retrier/waiting_store.hpp"
#include "fixture.hpp"
#include "support/daemon.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;
using namespace std::chrono_literals;

namespace {

RetrySchedule every(std::chrono::milliseconds interval) {
  RetrySchedule s;
  s.backoff = events::RetryPolicy::fixed_backoff(interval, 3);
  return s;
}

std::unique_ptr<Retrier> start_retrier(testing::RetrierFixture& f, std::chrono::milliseconds interval) {
  RetrierSettings s;
  s.schedule = every(interval);
  s.consumer.group = consumer_group;
  s.consumer.topics = {"^dlq\\..+"};
  s.transactional = {testing::unique_name("dlq-retrier"), 10000ms, 1ms};
  s.batch_size = 50;
  s.rollback_backoff.max_delay = 500ms;
  s.on_fatal = [](const core::Error& e) { FAIL_CHECK("fatal: " << e.message); };
  auto retrier = Retrier::create(f.options, std::move(s), f.pool);
  REQUIRE(retrier.ok());
  REQUIRE((*retrier)->start().ok());
  return std::move(retrier).value();
}

struct Waiting : testing::RetrierFixture {
  explicit Waiting(int partitions = 1, std::chrono::milliseconds interval = 1h)
      : RetrierFixture({"g1"}, partitions), operations(pool, *producer, options, every(interval), consumer_group) {}
  WaitingOperations operations;
};

std::vector<std::string> keys_of(const std::vector<testing::TopicReader::Seen>& seen) {
  std::vector<std::string> keys;
  for (const auto& s : seen) keys.push_back(s.record.key.value_or(""));
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string header(const events::ConsumedRecord& r, const char* name) {
  const auto* v = events::find_header(r.headers, name);
  return v ? *v : std::string("<none>");
}

}  // namespace

TEST_CASE("the summary counts each group's waiting dead letters, with the oldest and the reasons; pages follow") {
  Waiting f;
  const auto now = core::now_ms();
  f.send(f.dead_letter("g1", "a", 1, now - 10s));
  f.send(f.dead_letter("g1", "b", 2, now - 5s));
  f.send(f.dead_letter("g1", "c", 1, now - 1s, events::Outcome::fail("paypipe.events.SchemaViolation", "amount")));

  auto summaries = f.operations.summaries(std::nullopt);
  REQUIRE(summaries.ok());
  REQUIRE(summaries->size() == 1);
  const auto& s = summaries->front();
  CHECK(s.group == "g1");
  CHECK(s.topic == f.options.topic("dlq.g1"));
  CHECK(s.waiting == 3);
  CHECK(s.complete);
  CHECK(s.to_park == 1);  // the fatal one
  CHECK(s.due_now == 0);  // an hour's interval
  REQUIRE(s.oldest);
  CHECK(s.oldest->key == "a");
  REQUIRE(s.reasons.size() == 2);
  CHECK(s.reasons[0].error_class == "paypipe.test.Down");
  CHECK(s.reasons[0].count == 2);
  CHECK(s.reasons[1].error_class == "paypipe.events.SchemaViolation");

  auto first = f.operations.list("g1", 2, std::nullopt);
  REQUIRE(first.ok());
  REQUIRE(first->items.size() == 2);
  CHECK(first->items[0].key == "a");
  CHECK(first->items[1].attempt == 2);
  REQUIRE(first->next);
  auto second = f.operations.list("g1", 2, first->next);
  REQUIRE(second.ok());
  REQUIRE(second->items.size() == 1);
  CHECK(second->items[0].next == next_step::park);
  CHECK(second->items[0].park_reason == "FATAL");
  CHECK_FALSE(second->next);

  CHECK(f.operations.list("nosuch", 10, std::nullopt).error().category == core::ErrorCategory::not_found);
  CHECK(f.operations.summaries(std::string("nosuch")).error().category == core::ErrorCategory::not_found);
  CHECK(f.operations.retry("g1", 0, 99).error().category == core::ErrorCategory::not_found);
  CHECK(f.operations.retry("g1", 7, 0).error().category == core::ErrorCategory::not_found);
}

TEST_CASE("retry now re-delivers a record once; the retrier's own schedule later skips it") {
  Waiting f(1, 4000ms);
  const auto now = core::now_ms();
  const auto early = f.dead_letter("g1", "early", 1, now);
  f.send(early);
  f.send(f.dead_letter("g1", "later", 1, now));
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  auto retrier = start_retrier(f, 4000ms);

  const auto started = std::chrono::steady_clock::now();
  auto retried = f.operations.retry("g1", 0, 0);
  REQUIRE(retried.ok());
  CHECK_FALSE(retried->already);
  CHECK(retried->retry_topic == f.options.topic("retry.g1"));
  CHECK(retried->attempt == 2);
  // Idempotent: the second call sends nothing.
  auto again = f.operations.retry("g1", 0, 0);
  REQUIRE(again.ok());
  CHECK(again->already);
  const auto& first = retry.poll_for(10s, 1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].at - started < 3000ms);  // before its due time
  CHECK(first[0].record.key == "early");
  CHECK(header(first[0].record, "attempt") == "2");
  CHECK(first[0].record.value == early.value);

  // The retrier reaches both when due: it sends "later" only.
  const auto& both = retry.poll_for(20s, 2);
  REQUIRE(both.size() == 2);
  CHECK(retry.poll_for(2s).size() == 2);
  CHECK(keys_of(retry.seen()) == std::vector<std::string>{"early", "later"});
  CHECK(f.count("SELECT count(*) FROM retried_dead_letters") == 1);
  CHECK(f.count("SELECT count(*) FROM parked_records") == 0);
  // Handled by the retrier now: neither waits any more.
  REQUIRE(testing::eventually(
      [&] {
        auto s = f.operations.summaries(std::string("g1"));
        return s.ok() && s->front().waiting == 0;
      },
      10s));
  CHECK(f.operations.retry("g1", 0, 0)->already);
  CHECK(f.operations.retry("g1", 0, 1).error().code == "dead-letter-not-waiting");
  retrier->stop();
}

TEST_CASE("a skipped record is parked with the operator's reason and never retried") {
  Waiting f(1, 2000ms);
  const auto now = core::now_ms();
  f.send(f.dead_letter("g1", "skip-me", 1, now));
  f.send(f.dead_letter("g1", "keep", 1, now));

  auto parked = f.operations.skip("g1", 0, 0, "refunded by hand");
  REQUIRE(parked.ok());
  CHECK(parked->reason == reason::skipped);
  CHECK(parked->reason_detail == "refunded by hand");
  CHECK(parked->status == status::parked);
  CHECK(parked->key == "skip-me");
  // Idempotent: the same row.
  auto again = f.operations.skip("g1", 0, 0, "twice");
  REQUIRE(again.ok());
  CHECK(again->id == parked->id);
  CHECK(again->reason_detail == "refunded by hand");
  CHECK(f.operations.retry("g1", 0, 0).error().code == "dead-letter-parked");
  auto page = f.operations.list("g1", 10, std::nullopt);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].key == "keep");

  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  auto retrier = start_retrier(f, 2000ms);
  REQUIRE(retry.poll_for(15s, 1).size() == 1);
  CHECK(retry.poll_for(2500ms).size() == 1);
  CHECK(retry.seen()[0].record.key == "keep");
  CHECK(f.count("SELECT count(*) FROM parked_records") == 1);
  CHECK(f.operations.skip("g1", 0, 1, "too late").error().code == "dead-letter-not-waiting");
  retrier->stop();
}

TEST_CASE("retry all sends every waiting record of the group once") {
  Waiting f(3, 2000ms);
  const auto now = core::now_ms();
  std::vector<events::Delivery> sent;
  for (int i = 0; i < 6; ++i) sent.push_back(f.send(f.dead_letter("g1", "k" + std::to_string(i), 1, now)));
  REQUIRE(f.operations.skip("g1", sent[0].partition, sent[0].offset, "not this one").ok());
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  auto all = f.operations.retry_all("g1");
  REQUIRE(all.ok());
  CHECK(*all == 5);
  auto again = f.operations.retry_all("g1");
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(f.operations.summaries(std::string("g1"))->front().waiting == 0);
  // The retrier, due after 2 s, sends none of them again.
  auto retrier = start_retrier(f, 2000ms);
  REQUIRE(retry.poll_for(10s, 5).size() == 5);
  CHECK(retry.poll_for(4s).size() == 5);
  CHECK(f.count("SELECT count(*) FROM retried_dead_letters") == 5);
  retrier->stop();
}

namespace {

struct CliResult {
  int exit_code = -1;
  std::string out;
};

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `dlq-retrier <args>` with the fixture's configuration, as `kubectl exec` runs it in the pod.
CliResult run_cli(const testing::RetrierFixture& f, const std::vector<std::string>& args) {
  std::string command = "env -i PATH=/usr/bin:/bin PAYPIPE_PROFILE=local";
  command += " PAYPIPE_KAFKA_BOOTSTRAP_SERVERS=" + quoted(testing::stack().kafka_bootstrap);
  command += " PAYPIPE_TOPIC_PREFIX=" + quoted(f.prefix);
  command += " PAYPIPE_PG_DSN=" + quoted(testing::stack().pg_dsn);
  command += " PAYPIPE_PG_SCHEMA=" + quoted(f.schema);
  command += " PAYPIPE_RETRIER_INTERVAL_MS=3600000 ";
  command += quoted(testing::build_dir() + "/bin/dlq-retrier");
  for (const auto& a : args) command += " " + quoted(a);
  command += " 2>/dev/null";
  CliResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace

TEST_CASE("the dlq-retrier binary's dead-letters subcommands summarise, list, retry and skip") {
  Waiting f;
  const auto now = core::now_ms();
  f.send(f.dead_letter("g1", "one", 1, now - 1s));
  f.send(f.dead_letter("g1", "two", 1, now));
  f.send(f.dead_letter("g1", "three", 1, now));

  const auto summary = run_cli(f, {"dead-letters", "summary", "--json"});
  REQUIRE(summary.exit_code == 0);
  auto doc = core::json::parse(summary.out);
  REQUIRE(doc.ok());
  REQUIRE((*doc)["groups"].Size() == 1);
  CHECK((*doc)["groups"][0]["waiting"].GetInt64() == 3);
  CHECK(std::string((*doc)["groups"][0]["oldest"]["key"].GetString()) == "one");
  const auto table = run_cli(f, {"dead-letters", "summary"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("paypipe.test.Down x3") != std::string::npos);

  const auto listed = run_cli(f, {"dead-letters", "list", "--group", "g1", "--limit", "2"});
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find("2 record(s) of group g1; more with --cursor 0:2") != std::string::npos);

  const auto retried = run_cli(f, {"dead-letters", "retry", "--group", "g1", "--partition", "0", "--offset", "0"});
  CHECK(retried.exit_code == 0);
  CHECK(retried.out.find("retried now") != std::string::npos);
  CHECK(run_cli(f, {"dead-letters", "retry", "--group", "g1", "--partition", "0", "--offset", "0"})
            .out.find("retried already") != std::string::npos);
  const auto skipped = run_cli(f, {"dead-letters", "skip", "--group", "g1", "--partition", "0", "--offset", "1",
                                   "--reason", "duplicate of order 7", "--json"});
  REQUIRE(skipped.exit_code == 0);
  auto parked = core::json::parse(skipped.out);
  REQUIRE(parked.ok());
  CHECK(std::string((*parked)["reason"].GetString()) == "SKIPPED");
  CHECK(std::string((*parked)["reasonDetail"].GetString()) == "duplicate of order 7");
  const auto all = run_cli(f, {"dead-letters", "retry", "--group", "g1", "--all"});
  CHECK(all.exit_code == 0);
  CHECK(all.out.find("retried 1 waiting record(s)") != std::string::npos);
  CHECK(f.count("SELECT count(*) FROM retried_dead_letters") == 2);

  CHECK(run_cli(f, {"dead-letters", "retry", "--group", "g1"}).exit_code == 2);  // neither one record nor --all
  CHECK(run_cli(f, {"dead-letters", "skip", "--group", "g1", "--partition", "0", "--offset", "2"}).exit_code ==
        2);  // no reason
  CHECK(run_cli(f, {"dead-letters", "list", "--group", "nosuch"}).exit_code == 1);
}

TEST_CASE("retry-now records older than the retention are pruned; recent ones stay") {
  testing::FreshSchema db("dlq_retrier", runtime::with_event_tables(dlq_retrier::schema::embedded_files()));
  // Offsets 1 to 4 retried 8 days, 6 days 23 hours, 2 hours and a moment ago.
  REQUIRE(db.connection
              .exec("INSERT INTO retried_dead_letters"
                    " (dlq_topic, dlq_partition, dlq_offset, consumer_group, retry_topic, attempt, retried_at)"
                    " SELECT 'dlq.g1', 0, o, 'g1', 'retry.g1', 2, now() - age"
                    " FROM (VALUES (1, interval '8 days'), (2, interval '6 days 23 hours'),"
                    "              (3, interval '2 hours'), (4, interval '0')) AS r (o, age)")
              .ok());
  auto offsets = [&db] {
    auto rows = db.connection.exec("SELECT dlq_offset FROM retried_dead_letters ORDER BY dlq_offset");
    REQUIRE(rows.ok());
    std::vector<std::int64_t> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->integer(i, 0));
    return out;
  };

  const auto pruned = prune_retried(db.connection, std::chrono::hours(24 * 7));
  REQUIRE(pruned.ok());
  CHECK(*pruned == 1);
  CHECK(offsets() == std::vector<std::int64_t>{2, 3, 4});
  CHECK(prune_retried(db.connection, std::chrono::hours(24 * 7)).value() == 0);  // nothing older left

  // The periodic pass, on the daemon's pool, with a shorter retention.
  pg::Pool pool{pg::PoolOptions{testing::pg_options(db.schema), 1, std::chrono::milliseconds(5000)}};
  prune_retried_pass(pool, std::chrono::hours(1));
  CHECK(offsets() == std::vector<std::int64_t>{4});
}
