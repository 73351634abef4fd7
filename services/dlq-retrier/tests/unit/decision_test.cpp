#include "dlq_retrier/decision.hpp"

#include <catch2/catch.hpp>

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

// What the consumer runtime writes for a record of payment.completed that failed on
// delivery `attempt` at `failed_at`.
events::ConsumedRecord dead_letter(int attempt, core::SystemTime failed_at,
                                   events::Outcome outcome = events::Outcome::retry("paypipe.test.Down", "503")) {
  events::ConsumedRecord original;
  original.topic = "t1.payment.completed";
  original.partition = 2;
  original.offset = 41;
  original.timestamp_ms = 1'700'000'000'000;
  original.key = "order-1";
  original.value = R"({"paymentId":"p"})";
  original.headers = {{"ce_id", "e-1"}, {"traceparent", "00-abc-def-01"}};
  if (attempt > 1) original.headers.push_back({"attempt", std::to_string(attempt)});
  auto out = events::dead_letter_record(original, outcome, "notification-sender", "t1.dlq.notification-sender", attempt,
                                        failed_at);
  events::ConsumedRecord record;
  record.topic = out.topic;
  record.partition = 0;
  record.offset = 7;
  record.key = out.key;
  record.value = out.value;
  record.headers = out.headers;
  return record;
}

RetrySchedule schedule() {
  RetrySchedule s;
  s.backoff = events::RetryPolicy::exponential_backoff(2, 1000ms, 2.0, 3000ms);  // 3 deliveries in all
  s.group_intervals["data-platform-forwarder"] = 10000ms;
  return s;
}

}  // namespace

TEST_CASE("the group comes from the dlq topic's name, under the prefix") {
  events::KafkaOptions t1;
  t1.topic_prefix = "t1.";
  CHECK(group_of_dlq_topic("t1.dlq.notification-sender", t1) == "notification-sender");
  CHECK(group_of_dlq_topic("dlq.a.b", events::KafkaOptions{}) == "a.b");
  CHECK_FALSE(group_of_dlq_topic("t2.dlq.x", t1).has_value());
  CHECK_FALSE(group_of_dlq_topic("t1.retry.x", t1).has_value());
  CHECK_FALSE(group_of_dlq_topic("t1.dlq.", t1).has_value());
  // Under the spring names: <group>.DLQ, the group's logical name back.
  t1.naming = events::naming_profile(events::spring_profile);
  CHECK(group_of_dlq_topic("t1.payment-notification.DLQ", t1) == "notification-sender");
  CHECK(group_of_dlq_topic("t1.other-group.DLQ", t1) == "other-group");
  CHECK_FALSE(group_of_dlq_topic("t1.dlq.notification-sender", t1).has_value());
}

TEST_CASE("the delay grows per attempt, is capped, and a group may have its own") {
  const auto s = schedule();
  CHECK(s.delay("notification-sender", 1) == 1000ms);
  CHECK(s.delay("notification-sender", 2) == 2000ms);
  CHECK(s.delay("notification-sender", 5) == 3000ms);
  CHECK(s.delay("data-platform-forwarder", 1) == 3000ms);  // its own initial delay, still capped
  CHECK(s.exhausted(3));
  CHECK_FALSE(s.exhausted(2));
}

TEST_CASE("the default schedule is the Spring services': 3 re-deliveries, 5 minutes apart, then parked") {
  const RetrySchedule s;
  CHECK(s.backoff.max_retries() == 3);
  CHECK(s.max_deliveries() == 4);
  for (int delivery = 1; delivery <= 3; ++delivery) {
    CHECK(s.delay("notification-sender", delivery) == 300000ms);
    CHECK_FALSE(s.exhausted(delivery));
  }
  CHECK(s.exhausted(4));
}

TEST_CASE("a group's own interval under a fixed backoff is its wait, longer or shorter than the default") {
  RetrySchedule s;
  s.group_intervals["data-platform-forwarder"] = 600000ms;
  s.group_intervals["notification-sender"] = 60000ms;
  CHECK(s.delay("data-platform-forwarder", 2) == 600000ms);
  CHECK(s.delay("notification-sender", 3) == 60000ms);
  CHECK(s.delay("ranking-updater", 1) == 300000ms);
}

TEST_CASE("a retryable dead letter waits until failed-at + delay, then goes to retry.<group> as attempt + 1") {
  const auto record = dead_letter(1, t0);
  const auto early = decide(record, options(), schedule(), t0 + 999ms);
  REQUIRE(std::holds_alternative<Wait>(early));
  CHECK(std::get<Wait>(early).until == t0 + 1000ms);

  const auto due = decide(record, options(), schedule(), t0 + 1000ms);
  REQUIRE(std::holds_alternative<Republish>(due));
  const auto& r = std::get<Republish>(due);
  CHECK(r.group == "notification-sender");
  CHECK(r.attempt == 2);
  CHECK(r.record.topic == "t1.retry.notification-sender");
  CHECK(r.record.key == record.key);
  CHECK(r.record.value == record.value);
  CHECK(*events::find_header(r.record.headers, "attempt") == "2");
  // Every other header travels as it was, original-* included.
  CHECK(*events::find_header(r.record.headers, "ce_id") == "e-1");
  CHECK(*events::find_header(r.record.headers, events::dlt::original_topic) == "t1.payment.completed");
  CHECK(r.record.headers.size() == record.headers.size());

  // The second failure waits delay(2).
  CHECK(std::holds_alternative<Wait>(decide(dead_letter(2, t0), options(), schedule(), t0 + 1999ms)));
  CHECK(std::holds_alternative<Republish>(decide(dead_letter(2, t0), options(), schedule(), t0 + 2000ms)));
}

TEST_CASE("the last allowed attempt and fatal failures are parked at once, with the reason") {
  const auto exhausted = decide(dead_letter(3, t0), options(), schedule(), t0);
  REQUIRE(std::holds_alternative<Park>(exhausted));
  const auto& p = std::get<Park>(exhausted).record;
  CHECK(p.reason == reason::exhausted);
  CHECK(p.reason_detail == "delivery 3 of 3 (2 re-deliveries) failed: paypipe.test.Down");
  CHECK(p.group == "notification-sender");
  CHECK(p.original_topic == "t1.payment.completed");
  CHECK(p.original_partition == 2);
  CHECK(p.original_offset == 41);
  CHECK(p.original_timestamp_ms == 1'700'000'000'000);
  CHECK(p.dlq_topic == "t1.dlq.notification-sender");
  CHECK(p.dlq_offset == 7);
  CHECK(p.error_class == "paypipe.test.Down");
  CHECK(p.message == "503");
  CHECK(p.attempt == 3);
  CHECK(p.failed_at == "2026-11-23T10:00:00.000Z");
  CHECK(p.key == "order-1");

  const auto fatal = decide(
      dead_letter(1, t0, events::Outcome::fail("paypipe.events.SchemaViolation", "amount: missing")), options(),
      schedule(), t0 - 1h);  // fatal: no waiting, whatever the clock says
  REQUIRE(std::holds_alternative<Park>(fatal));
  CHECK(std::get<Park>(fatal).record.reason == reason::fatal);
  CHECK(std::get<Park>(fatal).record.message == "amount: missing");
}

TEST_CASE("a record that is not one of our dead letters is parked as foreign, keeping what its headers say") {
  events::ConsumedRecord spring;
  spring.topic = "t1.dlq.notification-sender";
  spring.offset = 3;
  spring.value = "\xff\xfe binary";
  spring.headers = {{events::dlt::exception_fqcn, "java.lang.IllegalStateException"},
                    {events::dlt::original_partition, events::encode_int32(5)}};
  const auto d = decide(spring, options(), schedule(), t0);
  REQUIRE(std::holds_alternative<Park>(d));
  const auto& p = std::get<Park>(d).record;
  CHECK(p.reason == reason::foreign);
  CHECK(p.reason_detail.find("not a paypipe dead letter") != std::string::npos);
  CHECK(p.error_class == "java.lang.IllegalStateException");
  CHECK(p.original_partition == 5);
  CHECK(p.failed_at.empty());
  CHECK(p.value == spring.value);
  CHECK_FALSE(p.key.has_value());

  events::ConsumedRecord bare;
  bare.topic = "t1.dlq.notification-sender";
  const auto b = decide(bare, options(), schedule(), t0);
  REQUIRE(std::holds_alternative<Park>(b));
  CHECK(std::get<Park>(b).record.error_class == "paypipe.dlq-retrier.NotADeadLetter");
  CHECK_FALSE(std::get<Park>(b).record.message.empty());
}

TEST_CASE("a replay is the parked record with attempt 1, to its group's retry topic") {
  const auto record = dead_letter(3, t0);
  const auto p = std::get<Park>(decide(record, options(), schedule(), t0)).record;
  const auto replay = replay_record(p, options());
  CHECK(replay.topic == "t1.retry.notification-sender");
  CHECK(replay.key == record.key);
  CHECK(replay.value == record.value);
  CHECK(*events::find_header(replay.headers, "attempt") == "1");
  CHECK(replay.headers.size() == record.headers.size());
}

TEST_CASE("group delays are parsed with every bad entry named") {
  auto ok = parse_group_intervals({{"notification-sender", "5000"}, {"x", "0"}});
  REQUIRE(ok.ok());
  CHECK(ok->at("notification-sender") == 5000ms);
  auto bad = parse_group_intervals({{"a", "soon"}, {"b", "-1"}, {"c", "5"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("a=soon") != std::string::npos);
  CHECK(bad.error().message.find("b=-1") != std::string::npos);
  CHECK(bad.error().message.find("c=") == std::string::npos);
}
