// The pure parts of the waiting dead letters: what the list says of one record (what
// the retrier will do with it), the per-group summary, the record retry-now sends, and
// the cursor and input parsers.
#include "dlq_retrier/waiting.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "events/dead_letter.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;
using namespace std::chrono_literals;

namespace {

const core::SystemTime t0 = *core::parse_rfc3339("2026-11-23T10:00:00.000Z");

events::KafkaOptions options() {
  events::KafkaOptions o;
  o.topic_prefix = "t1.";
  return o;
}

RetrySchedule schedule() {
  RetrySchedule s;
  s.backoff = events::RetryPolicy::fixed_backoff(60000ms, 3);  // 4 deliveries in all
  return s;
}

events::ConsumedRecord dead_letter(int attempt, core::SystemTime failed_at, std::int64_t offset,
                                   const events::Outcome& outcome = events::Outcome::retry("paypipe.test.Down",
                                                                                           "503")) {
  events::ConsumedRecord original;
  original.topic = "t1.payment.completed";
  original.partition = 2;
  original.offset = 41;
  original.timestamp_ms = core::to_unix_ms(failed_at) - 500;
  original.key = "order-" + std::to_string(offset);
  original.value = R"({"paymentId":"p"})";
  original.headers = {{"ce_id", "e-" + std::to_string(offset)}};
  if (attempt > 1) original.headers.push_back({"attempt", std::to_string(attempt)});
  auto out = events::dead_letter_record(original, outcome, "g1", "t1.dlq.g1", attempt, failed_at);
  events::ConsumedRecord record;
  record.topic = out.topic;
  record.partition = 1;
  record.offset = offset;
  record.timestamp_ms = core::to_unix_ms(failed_at);
  record.key = out.key;
  record.value = out.value;
  record.headers = out.headers;
  return record;
}

}  // namespace

TEST_CASE("a waiting record says what failed and when the retrier will retry it") {
  const auto w = view_of(dead_letter(1, t0, 7), options(), schedule(), t0 + 10s);
  CHECK(w.group == "g1");
  CHECK(w.topic == "t1.dlq.g1");
  CHECK(w.partition == 1);
  CHECK(w.offset == 7);
  CHECK(w.key == "order-7");
  CHECK(w.attempt == 1);
  CHECK(w.error_class == "paypipe.test.Down");
  CHECK(w.message == "503");
  CHECK(w.original_topic == "t1.payment.completed");
  CHECK(w.failed_at == core::format_rfc3339(t0));
  CHECK(w.next == next_step::retry);
  CHECK(w.due_at == core::format_rfc3339(t0 + 60s));
  CHECK(w.park_reason.empty());
  // Due already: the due time is in the past, still failed-at + interval.
  CHECK(view_of(dead_letter(1, t0, 7), options(), schedule(), t0 + 2min).due_at == core::format_rfc3339(t0 + 60s));
}

TEST_CASE("records the retrier will park say so, and why") {
  const auto exhausted = view_of(dead_letter(4, t0, 1), options(), schedule(), t0);
  CHECK(exhausted.next == next_step::park);
  CHECK(exhausted.park_reason == "EXHAUSTED");
  CHECK(exhausted.due_at.empty());
  const auto fatal = view_of(dead_letter(1, t0, 2, events::Outcome::fail("paypipe.events.SchemaViolation", "amount")),
                             options(), schedule(), t0);
  CHECK(fatal.park_reason == "FATAL");
  events::ConsumedRecord foreign;
  foreign.topic = "t1.dlq.g1";
  foreign.offset = 3;
  foreign.value = "x";
  foreign.timestamp_ms = core::to_unix_ms(t0);
  const auto f = view_of(foreign, options(), schedule(), t0);
  CHECK(f.park_reason == "FOREIGN");
  CHECK(f.failed_at.empty());
}

TEST_CASE("a group's summary counts what waits, names the oldest and the reasons, most frequent first") {
  std::vector<WaitingRecord> records;
  const auto now = t0 + 90s;
  records.push_back(view_of(dead_letter(1, t0 + 10s, 1), options(), schedule(), now));  // due at t0+70s: due now
  records.push_back(view_of(dead_letter(1, t0, 2), options(), schedule(), now));        // the oldest, due now
  records.push_back(view_of(dead_letter(2, t0 + 80s, 3), options(), schedule(), now));  // due later
  records.push_back(view_of(dead_letter(1, t0 + 20s, 4, events::Outcome::fail("paypipe.x.Bad", "bad")), options(),
                            schedule(), now));  // to park
  const auto s = summarize("g1", "t1.dlq.g1", records, true, 5, now);
  CHECK(s.group == "g1");
  CHECK(s.waiting == 4);
  CHECK(s.complete);
  CHECK(s.waiting_span == 5);
  CHECK(s.due_now == 2);
  CHECK(s.to_park == 1);
  REQUIRE(s.oldest);
  CHECK(s.oldest->offset == 2);
  REQUIRE(s.reasons.size() == 2);
  CHECK(s.reasons[0].error_class == "paypipe.test.Down");
  CHECK(s.reasons[0].count == 3);
  CHECK(s.reasons[1].error_class == "paypipe.x.Bad");
  CHECK(s.reasons[1].message == "bad");

  const auto empty = summarize("g2", "t1.dlq.g2", {}, true, 0, now);
  CHECK(empty.waiting == 0);
  CHECK_FALSE(empty.oldest);
  auto doc = core::json::parse(summaries_json({s, empty}));
  REQUIRE(doc.ok());
  const auto& groups = (*doc)["groups"];
  REQUIRE(groups.Size() == 2);
  CHECK(groups[0]["waiting"].GetInt64() == 4);
  CHECK(groups[0]["oldest"]["offset"].GetInt64() == 2);
  CHECK(groups[0]["reasons"][0]["count"].GetInt64() == 3);
  CHECK_FALSE(groups[1].HasMember("oldest"));
}

TEST_CASE("retry now sends what the retrier would send: retry.<group>, attempt + 1, everything else as it was") {
  const auto dead = dead_letter(2, t0, 9);
  const auto now = retry_now(dead, options());
  REQUIRE(now.ok());
  CHECK(now->group == "g1");
  CHECK(now->attempt == 3);
  // The retrier's own republishing of the same record, once due.
  const auto due = decide(dead, options(), schedule(), t0 + 1h);
  REQUIRE(std::holds_alternative<Republish>(due));
  const auto& expected = std::get<Republish>(due).record;
  CHECK(now->record.topic == "t1.retry.g1");
  CHECK(now->record.topic == expected.topic);
  CHECK(now->record.key == expected.key);
  CHECK(now->record.value == expected.value);
  REQUIRE(now->record.headers.size() == expected.headers.size());
  for (std::size_t i = 0; i < expected.headers.size(); ++i) {
    CHECK(now->record.headers[i].name == expected.headers[i].name);
    CHECK(now->record.headers[i].value == expected.headers[i].value);
  }
  events::ConsumedRecord stray = dead;
  stray.topic = "t1.payment.completed";
  CHECK(retry_now(stray, options()).error().category == core::ErrorCategory::invalid_input);
}

TEST_CASE("cursors, groups and reasons are checked") {
  const auto c = parse_waiting_cursor("2:150");
  REQUIRE(c.ok());
  CHECK(c->partition == 2);
  CHECK(c->offset == 150);
  CHECK(format_waiting_cursor(*c) == "2:150");
  for (const auto* bad : {"", "2", ":1", "1:", "-1:4", "1:-4", "a:b", "1:2:3", "1:2x"}) {
    INFO(bad);
    CHECK_FALSE(parse_waiting_cursor(bad).ok());
  }
  CHECK(parse_group("notification-sender").ok());
  CHECK_FALSE(parse_group("").ok());
  CHECK_FALSE(parse_group("a/b").ok());
  CHECK_FALSE(parse_group(std::string(201, 'a')).ok());
  CHECK(parse_skip_reason("customer refunded by hand").ok());
  CHECK_FALSE(parse_skip_reason("").ok());
  CHECK_FALSE(parse_skip_reason(std::string(1001, 'x')).ok());
}

TEST_CASE("a page of waiting records carries its cursor") {
  WaitingPage page;
  page.group = "g1";
  page.items.push_back(view_of(dead_letter(1, t0, 7), options(), schedule(), t0));
  page.next = WaitingCursor{1, 8};
  auto doc = core::json::parse(waiting_page_json(page));
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["nextCursor"].GetString()) == "1:8");
  CHECK((*doc)["items"][0]["offset"].GetInt64() == 7);
  CHECK(std::string((*doc)["items"][0]["next"].GetString()) == "RETRY");
  CHECK(format_waiting_page(page).find("more with --cursor 1:8") != std::string::npos);
}
