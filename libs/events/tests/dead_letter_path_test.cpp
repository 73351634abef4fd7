#include <catch2/catch.hpp>

#include <mutex>
#include <set>

#include "events/consumer_runtime.hpp"
#include "events/dead_letter.hpp"
#include "helpers.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

using testing::settings_for;

TEST_CASE(
    "undecodable and schema-invalid records go to the DLQ with their reason; the records behind them are processed") {
  testing::KafkaFixture kafka({"payment.completed", "retry.poison", "dlq.poison"}, 1);
  const auto before = kafka.payment_completed(core::new_uuid_v7());
  kafka.send(before);
  kafka.send_raw("payment.completed", std::string("k1"), "\x01\x02 not json", {});  // no CloudEvents headers at all
  auto invalid = kafka.payment_completed(core::new_uuid_v7());
  invalid.data = R"({"paymentId":"nope"})";
  kafka.send_raw("payment.completed", invalid.key, invalid.data, events::to_headers(invalid));  // bypasses validation
  const auto after = kafka.payment_completed(core::new_uuid_v7());
  kafka.send(after);
  kafka.flush();

  std::mutex mutex;
  std::vector<std::string> handled;
  auto runtime = events::ConsumerRuntime::batch(
      kafka.options, settings_for("poison"), *kafka.producer, [&](std::span<const events::ConsumedEvent> batch) {
        std::lock_guard lock(mutex);
        for (const auto& e : batch) handled.push_back(e.event.id);
        return std::vector<events::Outcome>(batch.size(), events::Outcome::ok());
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return handled.size() == 2;
      },
      30s));
  const auto dead = testing::read_topic(kafka.options, kafka.options.topic("dlq.poison"), 2, 30s);
  (*runtime)->stop();
  CHECK(handled == std::vector<std::string>{before.id, after.id});
  REQUIRE(dead.size() == 2);
  const auto first = events::read_dead_letter(dead[0].headers);
  REQUIRE(first.ok());
  CHECK(first->error_class == "paypipe.events.UndecodableRecord");
  CHECK(first->kind == events::Outcome::Kind::fatal);
  CHECK(first->original_topic == kafka.options.topic("payment.completed"));
  CHECK(first->original_offset == 1);
  CHECK(dead[0].value == "\x01\x02 not json");
  CHECK(dead[0].key == "k1");
  const auto second = events::read_dead_letter(dead[1].headers);
  REQUIRE(second.ok());
  CHECK(second->error_class == "paypipe.events.SchemaViolation");
  CHECK(second->message.find("dev.paypipe.payment.completed.v1 data fails") != std::string::npos);
  CHECK(*events::find_header(dead[1].headers, "ce_id") == invalid.id);  // original headers kept
}

TEST_CASE("a retryable failure is retried in process, then dead-lettered with its attempt; retry.<group> is consumed") {
  testing::KafkaFixture kafka({"payment.completed", "retry.flaky", "dlq.flaky"}, 1);
  const auto doomed = kafka.payment_completed(core::new_uuid_v7());
  const auto fine = kafka.payment_completed(core::new_uuid_v7());
  kafka.send(doomed);
  kafka.send(fine);
  kafka.flush();

  std::mutex mutex;
  std::map<std::string, int> calls;
  std::map<std::string, int> attempts_seen;
  std::set<std::string> succeeded;
  auto runtime = events::ConsumerRuntime::batch(
      kafka.options, settings_for("flaky"), *kafka.producer, [&](std::span<const events::ConsumedEvent> batch) {
        std::lock_guard lock(mutex);
        std::vector<events::Outcome> outcomes;
        for (const auto& e : batch) {
          ++calls[e.event.id];
          attempts_seen[e.event.id] = e.attempt;
          // The doomed event fails until it comes back from retry.flaky (attempt 2).
          if (e.event.id == doomed.id && e.attempt == 1) {
            outcomes.push_back(events::Outcome::retry("paypipe.test.Down", "downstream down"));
          } else {
            succeeded.insert(e.event.id);
            outcomes.push_back(events::Outcome::ok());
          }
        }
        return outcomes;
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return calls[doomed.id] == 3;
      },
      30s));
  const auto dead = testing::read_topic(kafka.options, kafka.options.topic("dlq.flaky"), 1, 30s);
  REQUIRE(dead.size() == 1);
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->attempt == 1);
  CHECK(info->kind == events::Outcome::Kind::retryable);
  CHECK(info->error_class == "paypipe.test.Down");

  // What dlq-retrier does: send it back to retry.<group> as attempt 2.
  REQUIRE(
      kafka.producer->send_and_wait(events::retry_record(dead[0], kafka.options.topic("retry.flaky"), 2), 10s).ok());
  REQUIRE(testing::eventually(
      [&] {
        std::lock_guard l(mutex);
        return succeeded.count(doomed.id) == 1;
      },
      30s));
  (*runtime)->stop();
  std::lock_guard lock(mutex);
  CHECK(calls[doomed.id] == 4);
  CHECK(attempts_seen[doomed.id] == 2);
  CHECK(calls[fine.id] == 1);
}

TEST_CASE("the concurrent runtime retries on timers and dead-letters after the policy's attempts") {
  testing::KafkaFixture kafka({"payment.completed", "retry.async", "dlq.async"}, 3);
  const auto doomed = kafka.payment_completed(core::new_uuid_v7());
  kafka.send(doomed);
  std::vector<std::string> others;
  for (int i = 0; i < 20; ++i) {
    auto e = kafka.payment_completed(core::new_uuid_v7());
    others.push_back(e.id);
    kafka.send(e);
  }
  kafka.flush();
  std::atomic<int> doomed_calls{0}, ok_calls{0};
  auto settings = settings_for("async");
  settings.retry = events::RetryPolicy{4, 20ms, 2.0, 100ms};
  auto runtime = events::ConsumerRuntime::concurrent(
      kafka.options, settings, *kafka.producer, [&](const events::ConsumedEvent& e, events::OutcomeCallback done) {
        if (e.event.id == doomed.id) {
          ++doomed_calls;
          done(events::Outcome::retry("paypipe.test.Timeout", "stalled"));
        } else {
          ++ok_calls;
          done(events::Outcome::ok());
        }
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  const auto dead = testing::read_topic(kafka.options, kafka.options.topic("dlq.async"), 1, 30s);
  REQUIRE(testing::eventually([&] { return ok_calls.load() == 20; }, 30s));
  (*runtime)->stop();
  REQUIRE(dead.size() == 1);
  CHECK(*events::find_header(dead[0].headers, "ce_id") == doomed.id);
  CHECK(doomed_calls.load() == 4);
}
