// The retrier on the real broker and PostgreSQL: delays, attempts, parking, partitions
// that wait without holding up the others, new groups, and a batch rolled back.
#include "dlq_retrier/retrier.hpp"

#include <catch2/catch.hpp>

#include <set>

#include "core/metrics.hpp"
#include "events/admin.hpp"
#include "fixture.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

RetrierSettings settings_with(std::chrono::milliseconds delay) {
  RetrierSettings s;
  s.schedule.backoff = events::RetryPolicy::fixed_backoff(delay, 2);  // 3 deliveries in all
  s.consumer.group = "dlq-retrier";
  s.consumer.topics = {"^dlq\\..+"};
  s.transactional = {testing::unique_name("dlq-retrier"), 10000ms, 1ms};
  s.batch_size = 50;
  s.rollback_backoff.max_delay = 500ms;
  s.on_fatal = [](const core::Error& e) { FAIL_CHECK("fatal: " << e.message); };
  return s;
}

std::unique_ptr<Retrier> start_retrier(testing::RetrierFixture& f, RetrierSettings settings) {
  auto retrier = Retrier::create(f.options, std::move(settings), f.pool);
  REQUIRE(retrier.ok());
  REQUIRE((*retrier)->start().ok());
  return std::move(retrier).value();
}

double metric(const std::string& series) {
  const auto text = core::metrics::serialize();
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

std::string header(const events::ConsumedRecord& r, const char* name) {
  const auto* v = events::find_header(r.headers, name);
  return v ? *v : std::string("<none>");
}

}  // namespace

TEST_CASE("a dead letter waits its delay, then reaches retry.<group> once, as attempt + 1, otherwise unchanged") {
  testing::RetrierFixture f({"g1"});
  const auto failed_at = core::now_ms();
  const auto sent = f.dead_letter("g1", "order-1", 1, failed_at);
  f.send(sent);
  const auto started = Clock::now();
  auto retrier = start_retrier(f, settings_with(1500ms));
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));

  const auto& seen = retry.poll_for(20s, 1);
  REQUIRE(seen.size() == 1);
  // Due at failed-at + 1.5 s: never earlier.
  CHECK(core::now_ms() >= failed_at + 1500ms);
  CHECK(seen[0].at - started >= 1000ms);
  const auto& r = seen[0].record;
  CHECK(r.key == sent.key);
  CHECK(r.value == sent.value);
  CHECK(header(r, "attempt") == "2");
  REQUIRE(r.headers.size() == sent.headers.size());
  for (const auto& h : sent.headers) {
    if (h.name != "attempt") CHECK(header(r, h.name.c_str()) == h.value);
  }
  // Once: nothing else arrives.
  CHECK(retry.poll_for(1500ms).size() == 1);
  CHECK(f.count("SELECT count(*) FROM parked_records") == 0);
  retrier->stop();
  CHECK(core::metrics::serialize().find("dlq_retrier_republished_total{group=\"g1\"}") != std::string::npos);
}

TEST_CASE("a partition waiting for its record never holds up the other partitions") {
  testing::RetrierFixture f({"g1"});
  const auto now = core::now_ms();
  // The head of one partition is due in 3 s; everything else is due now.
  const auto late = f.send(f.dead_letter("g1", "late", 1, now + 3000ms - 2000ms));
  std::map<std::string, int> partition_of;
  for (int i = 0; i < 12; ++i) {
    const auto key = "k" + std::to_string(i);
    partition_of[key] = f.send(f.dead_letter("g1", key, 1, now - 2000ms)).partition;
  }
  auto retrier = start_retrier(f, settings_with(2000ms));
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  const auto& seen = retry.poll_for(30s, 13);
  REQUIRE(seen.size() == 13);
  std::map<std::string, Clock::time_point> arrived;
  for (const auto& s : seen) arrived[*s.record.key] = s.at;
  REQUIRE(arrived.size() == 13);
  int others = 0, behind = 0;
  for (const auto& [key, partition] : partition_of) {
    if (partition == late.partition) {
      ++behind;  // behind the late head in its partition: waits for it, order kept
      CHECK(arrived[key] >= arrived["late"]);
    } else {
      ++others;
      CHECK(arrived[key] < arrived["late"]);
      CHECK(arrived["late"] - arrived[key] > 1000ms);
    }
  }
  CHECK(others > 0);
  INFO("records behind the late one: " << behind);
  retrier->stop();
}

TEST_CASE("the last attempt, fatal failures and foreign records are parked at once, byte-exact; the rest go on") {
  testing::RetrierFixture f({"g1"}, 1);
  const auto now = core::now_ms() - 10s;  // everything due
  const auto exhausted = f.dead_letter("g1", "exhausted", 3, now);
  const auto fatal = f.dead_letter("g1", "fatal", 1, now,
                                   events::Outcome::fail("paypipe.events.SchemaViolation", "amount"));
  const events::OutgoingRecord foreign{
      f.options.topic("dlq.g1"),
      std::string("\x00k", 2),
      std::string("\xff\x00v", 3),
      {{"bin", std::string("\x01\x00\x02", 3)}, {"kafka_dlt-exception-fqcn", "java.lang.X"}}};
  const auto fine = f.dead_letter("g1", "fine", 2, now);
  for (const auto& r : {exhausted, fatal, foreign, fine}) f.send(r);

  auto retrier = start_retrier(f, settings_with(1000ms));
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  const auto& seen = retry.poll_for(20s, 1);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].record.key == "fine");
  CHECK(header(seen[0].record, "attempt") == "3");
  REQUIRE(testing::eventually([&] { return f.count("SELECT count(*) FROM parked_records") == 3; }, 10s));

  ParkedQuery all;
  all.status.reset();
  auto page = list_parked(f.connection, all, f.prefix);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 3);
  const auto& e = page->items[0];
  CHECK(e.reason == reason::exhausted);
  CHECK(e.group == "g1");
  CHECK(e.status == "PARKED");
  CHECK(e.attempt == 3);
  CHECK(e.key == "exhausted");
  CHECK(e.value == exhausted.value);
  CHECK(e.original_topic == f.options.topic("payment.completed"));
  CHECK(e.original_partition == 1);
  CHECK(e.original_offset == 100);
  CHECK(e.dlq_topic == f.options.topic("dlq.g1"));
  CHECK(e.dlq_offset == 0);
  CHECK(e.error_class == "paypipe.test.Down");
  CHECK_FALSE(e.failed_at.empty());
  CHECK_FALSE(e.parked_at.empty());
  REQUIRE(e.headers.size() == exhausted.headers.size());
  for (std::size_t i = 0; i < e.headers.size(); ++i) {
    CHECK(e.headers[i].name == exhausted.headers[i].name);
    CHECK(e.headers[i].value == exhausted.headers[i].value);
  }
  CHECK(page->items[1].reason == reason::fatal);
  CHECK(page->items[1].message == "amount");
  const auto& x = page->items[2];
  CHECK(x.reason == reason::foreign);
  CHECK(x.key == foreign.key);
  CHECK(x.value == foreign.value);
  REQUIRE(x.headers.size() == 2);
  CHECK(x.headers[0].value == std::string("\x01\x00\x02", 3));
  CHECK(x.error_class == "java.lang.X");
  CHECK(x.original_topic.empty());
  CHECK(x.failed_at.empty());
  retrier->stop();
  const auto metrics = core::metrics::serialize();
  CHECK(metrics.find("dlq_retrier_parked_total{group=\"g1\",reason=\"FOREIGN\"}") != std::string::npos);
}

TEST_CASE("a dlq topic created while the retrier runs is picked up by the pattern") {
  testing::RetrierFixture f({"g1"});
  auto settings = settings_with(100ms);
  f.options.properties["topic.metadata.refresh.interval.ms"] = "500";
  auto retrier = start_retrier(f, settings);
  testing::create_topics(f.options, {"dlq.late-group", "retry.late-group"}, 2);
  f.send(f.dead_letter("late-group", "new", 1, core::now_ms() - 1s));
  testing::TopicReader retry(f.options, f.options.topic("retry.late-group"));
  const auto& seen = retry.poll_for(30s, 1);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].record.key == "new");
  retrier->stop();
}

TEST_CASE("a consumer group from configuration has its dead letters re-delivered, under the spring names too") {
  // PAYPIPE_EXTRA_CONSUMER_GROUPS=email-sender=payment.completed: "%s.DLQ" has no fixed
  // beginning, so the retrier subscribes to each group's dead-letter topic by name, and
  // only the configuration tells it of this group.
  testing::RetrierFixture f({});
  events::NamingOverrides overrides;
  overrides.profile = events::spring_profile;
  overrides.extra_groups = {{"email-sender", "payment.completed"}};
  f.options.naming = events::make_naming(overrides).value();
  testing::create_topics(f.options, events::all_topics(f.options.naming), 1);
  f.send(f.dead_letter("email-sender", "mail-1", 1, core::now_ms() - 1s));
  auto settings = settings_with(100ms);
  settings.consumer.topics = f.options.naming.dlq_subscription();  // as Config::consumer_settings()
  auto retrier = start_retrier(f, settings);
  testing::TopicReader retry(f.options, f.options.topic("retry.email-sender"));
  const auto& seen = retry.poll_for(30s, 1);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].record.topic == f.prefix + "email-sender.RETRY");
  CHECK(seen[0].record.key == "mail-1");
  CHECK(header(seen[0].record, "attempt") == "2");
  retrier->stop();
  CHECK(core::metrics::serialize().find("dlq_retrier_republished_total{group=\"email-sender\"}") != std::string::npos);
}

TEST_CASE("a batch whose park fails is rolled back: nothing republished until the park succeeds, then once") {
  testing::RetrierFixture f({"g1"}, 1);
  REQUIRE(f.connection.exec("ALTER TABLE parked_records RENAME TO parked_records_away").ok());
  const auto failures_before = metric("dlq_retrier_transaction_failures_total");
  const auto now = core::now_ms() - 10s;
  f.send(f.dead_letter("g1", "exhausted", 3, now));
  f.send(f.dead_letter("g1", "fine", 1, now));  // same partition, behind it, in the same batch
  auto retrier = start_retrier(f, settings_with(100ms));
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  // The park keeps failing: the batch's transaction never commits.
  REQUIRE(testing::eventually([&] { return metric("dlq_retrier_transaction_failures_total") >= failures_before + 2; },
                              10s));
  CHECK(retry.poll_for(1500ms).empty());
  REQUIRE(f.connection.exec("ALTER TABLE parked_records_away RENAME TO parked_records").ok());
  const auto& seen = retry.poll_for(20s, 1);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].record.key == "fine");
  CHECK(retry.poll_for(1500ms).size() == 1);
  CHECK(f.count("SELECT count(*) FROM parked_records") == 1);
  retrier->stop();
}

TEST_CASE("two retrier instances share the partitions; every dead letter is republished once") {
  testing::RetrierFixture f({"g1"});
  const auto now = core::now_ms();
  for (int i = 0; i < 60; ++i)
    f.send(f.dead_letter("g1", "k" + std::to_string(i), 1, now - 1000ms + std::chrono::milliseconds(i * 50)));
  auto first = start_retrier(f, settings_with(1000ms));
  testing::TopicReader retry(f.options, f.options.topic("retry.g1"));
  retry.poll_for(20s, 10);
  auto second = start_retrier(f, settings_with(1000ms));  // a rebalance mid-stream
  const auto& seen = retry.poll_for(30s, 60);
  CHECK(retry.poll_for(2s).size() == 60);
  std::set<std::string> keys;
  for (const auto& s : seen) keys.insert(*s.record.key);
  CHECK(keys.size() == 60);
  second->stop();
  first->stop();
}
