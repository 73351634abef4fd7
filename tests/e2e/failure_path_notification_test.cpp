// The failure path end to end: notification-sender and dlq-retrier as processes against
// the fake Telegram, payment events published to Kafka directly. Each scenario asserts
// what reaches Telegram, dlq.notification-sender, retry.notification-sender and the
// parked store. notification-sender makes no retry in process
// (PAYPIPE_RETRY_MAX_RETRIES=0), so every failure takes the dlq -> retry path.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "contracts/payment_completed.hpp"
#include "events/envelope.hpp"
#include "failure_path_support.hpp"
#include "fakes/fake_telegram.hpp"

using namespace paypipe;
using namespace paypipe::testing::failure_path;
using namespace std::chrono_literals;

namespace {

const std::string group = "notification-sender";

// PAYPIPE_TELEGRAM_CHAT_IDS for the users below (1001-1004, 2000-2019, 3000-3009), each
// the chat of the same number: an unmapped user gets no message.
std::string chat_ids() {
  std::string out;
  const auto add = [&](int first, int count) {
    for (int u = first; u < first + count; ++u) {
      out += (out.empty() ? "" : ",") + std::to_string(u) + "=" + std::to_string(u);
    }
  };
  add(1001, 4);
  add(2000, 20);
  add(3000, 10);
  return out;
}

std::map<std::string, std::string> sender_env(const testing::FakeTelegram& telegram,
                                              std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
                                         {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
                                         {"PAYPIPE_TELEGRAM_CHAT_IDS", chat_ids()},
                                         {"PAYPIPE_TELEGRAM_TIMEOUT_MS", "500"},
                                         {"PAYPIPE_NOTIFY_DEFAULT_LOCALE", "en"},
                                         {"PAYPIPE_RETRY_MAX_RETRIES", "0"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

testing::FakeTelegram::Behaviour behaviour(std::string mode = "ok") {
  testing::FakeTelegram::Behaviour b;
  b.mode = std::move(mode);
  return b;
}

// payment.completed for `user` (mapped to the chat of the same number in sender_env).
events::Event payment(const std::string& user) {
  contracts::PaymentCompleted p{core::new_uuid_v7(), core::new_uuid_v7(), user, 15000, "KRW", core::now_rfc3339()};
  return events::make_event("payment.completed", "/paypipe/test", p.order_id, contracts::encode(p));
}

std::string payment_id_of(const events::Event& e) {
  return contracts::decode_payment_completed(e.data).value().payment_id;
}

// The payment id in a delivered English message ("...\nPayment: <id>").
std::string payment_id_in(const std::string& text) {
  const auto at = text.find("Payment: ");
  if (at == std::string::npos) return {};
  return text.substr(at + 9, 36);
}

std::map<std::string, int> delivered_by_payment(const testing::FakeTelegram& telegram) {
  std::map<std::string, int> copies;
  for (const auto& m : telegram.delivered()) ++copies[payment_id_in(m.text)];
  return copies;
}

int delivered(const testing::FakeTelegram& telegram, const std::string& payment_id) {
  const auto copies = delivered_by_payment(telegram);
  const auto it = copies.find(payment_id);
  return it == copies.end() ? 0 : it->second;
}

struct Pipeline {
  testing::System system;
  testing::FakeTelegram telegram;
  std::unique_ptr<events::Producer> producer = events::Producer::create(system.kafka()).value();
  std::unique_ptr<testing::Daemon> sender;
  std::unique_ptr<testing::Daemon> retrier;

  Pipeline(testing::FakeTelegram::Behaviour b, std::map<std::string, std::string> retrier_extra, int delay_ms,
           std::map<std::string, std::string> sender_extra = {}) {
    telegram.set(std::move(b));
    sender = std::make_unique<testing::Daemon>(system, "notification-sender", sender_env(telegram, sender_extra));
    retrier = std::make_unique<testing::Daemon>(system, "dlq-retrier", retrier_env(delay_ms, retrier_extra));
    sender->wait_ready();
    retrier->wait_ready();
  }

  void publish(const events::Event& e) { REQUIRE(producer->send_event(e, nullptr).ok()); }
  void flush() { REQUIRE(producer->flush(10s).ok()); }
  std::string topic(const std::string& name) const { return system.kafka().topic(name); }
};

}  // namespace

TEST_CASE("Telegram answers 503 once, then 200: the message reaches Telegram once, through dlq -> retry") {
  auto b = behaviour();
  b.fail_first = 1;
  Pipeline p(b, {}, 500);
  TopicReader dlq(p.system.kafka(), p.topic("dlq." + group));
  TopicReader retry(p.system.kafka(), p.topic("retry." + group));
  const auto e = payment("1001");
  p.publish(e);
  p.flush();

  REQUIRE(testing::eventually([&] { return delivered(p.telegram, payment_id_of(e)) == 1; }, 60s, 50ms));
  const auto& dead = dlq.poll_for(10s, 1);
  REQUIRE(dead.size() == 1);
  CHECK(header_of(dead[0], "ce_id") == e.id);
  CHECK(header_of(dead[0], "attempt") == "1");
  CHECK(header_of(dead[0], "kafka_dlt-exception-fqcn") == "paypipe.notification-sender.TelegramUnavailable");
  const auto& retried = retry.poll_for(10s, 1);
  REQUIRE(retried.size() == 1);
  CHECK(header_of(retried[0], "ce_id") == e.id);
  CHECK(header_of(retried[0], "attempt") == "2");
  CHECK(retried[0].value == e.data);

  // Settled: still once, after exactly two attempts; nothing parked; the log says SENT once.
  CHECK(dlq.poll_for(2s).size() == 1);
  CHECK(delivered(p.telegram, payment_id_of(e)) == 1);
  CHECK(p.telegram.attempts() == 2);
  CHECK(parked_count(*p.retrier, group, "ALL") == 0);
  auto log = json_of(p.sender->get("/v1/notifications?userId=1001")->body);
  REQUIRE(log["items"].Size() == 1);
  CHECK(std::string(log["items"][0]["status"].GetString()) == "SENT");
}

TEST_CASE("Telegram stalls past the timeout: the record goes to the DLQ and is retried") {
  // The stalled call would have been answered 503 (nothing delivered) after 3 s; the
  // sender gives up after 500 ms.
  auto b = behaviour("stall");
  b.fail_first = 1;
  b.stall = 3000ms;
  Pipeline p(b, {}, 1000);
  TopicReader dlq(p.system.kafka(), p.topic("dlq." + group));
  TopicReader retry(p.system.kafka(), p.topic("retry." + group));
  const auto e = payment("1002");
  p.publish(e);
  p.flush();
  REQUIRE(testing::eventually([&] { return !p.telegram.attempt_log().empty(); }, 60s, 10ms));
  p.telegram.set(behaviour("ok"));  // Telegram recovers before the retry is due

  const auto& dead = dlq.poll_for(20s, 1);
  REQUIRE(dead.size() == 1);
  CHECK(header_of(dead[0], "ce_id") == e.id);
  CHECK(header_of(dead[0], "kafka_dlt-exception-fqcn") == "paypipe.notification-sender.TelegramTimeout");
  const auto& retried = retry.poll_for(20s, 1);
  REQUIRE(retried.size() == 1);
  CHECK(header_of(retried[0], "attempt") == "2");
  REQUIRE(testing::eventually([&] { return delivered(p.telegram, payment_id_of(e)) == 1; }, 30s, 50ms));
  const auto attempts = p.telegram.attempt_log();
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].status == 503);
  CHECK(attempts[1].status == 200);
  CHECK(attempts[1].received_unix_ms - attempts[0].received_unix_ms >= 1000);  // after dlq-retrier's delay
  CHECK(dlq.poll_for(1500ms).size() == 1);
  CHECK(delivered(p.telegram, payment_id_of(e)) == 1);
}

TEST_CASE("Telegram fails always: parked after 3 attempts; replayed over HTTP after it recovers, delivered once") {
  Pipeline p(behaviour("fail"), {}, 300);
  const auto e = payment("1003");
  p.publish(e);
  p.flush();
  REQUIRE(testing::eventually([&] { return parked_count(*p.retrier, group) == 1; }, 60s, 100ms));
  auto item = parked(*p.retrier, group)["items"][0].GetObject();
  CHECK(std::string(item["reason"].GetString()) == "EXHAUSTED");
  CHECK(item["attempt"].GetInt() == 3);
  CHECK(std::string(item["errorClass"].GetString()) == "paypipe.notification-sender.TelegramUnavailable");
  CHECK(std::string(item["originalTopic"].GetString()) == p.topic("payment.completed"));
  CHECK(p.telegram.attempts() == 3);  // the delivery and two retries
  CHECK(p.telegram.delivered().empty());
  const auto id = item["id"].GetInt64();

  p.telegram.set(behaviour("ok"));
  auto replayed = p.retrier->post("/v1/parked/" + std::to_string(id) + "/replay", "", admin());
  REQUIRE(replayed.ok());
  REQUIRE(replayed->status == 200);
  REQUIRE(testing::eventually([&] { return delivered(p.telegram, payment_id_of(e)) == 1; }, 30s, 50ms));
  // Settled: once, one attempt since the recovery, nothing parked again.
  REQUIRE(testing::eventually([&] { return parked_count(*p.retrier, group, "REPLAYED") == 1; }, 5s));
  std::this_thread::sleep_for(1500ms);  // a duplicate would have time to arrive; there is nothing to wait for
  CHECK(delivered(p.telegram, payment_id_of(e)) == 1);
  CHECK(p.telegram.attempts() == 1);
  CHECK(parked_count(*p.retrier, group) == 0);
}

TEST_CASE(
    "poison records (bad JSON, wrong schema) are parked at once with their reason; the records behind them go on") {
  // A 10 s retry delay: parking at once means well before it.
  Pipeline p(behaviour("ok"), {}, 10000);
  const auto good = payment("1004");
  auto bad_json = good;
  bad_json.id = core::new_uuid_v7();
  bad_json.data = "{\"paymentId\": not json";
  auto wrong_schema = good;
  wrong_schema.id = core::new_uuid_v7();
  wrong_schema.data = R"({"paymentId":"not-a-uuid","amount":"lots"})";
  const auto sent_at = std::chrono::steady_clock::now();
  // Same key, so the same partition: the good one is behind the two poison records.
  for (const auto* e : {&bad_json, &wrong_schema}) {
    REQUIRE(
        p.producer->send_and_wait({p.topic("payment.completed"), e->key, e->data, events::to_headers(*e)}, 10s).ok());
  }
  p.publish(good);
  p.flush();

  REQUIRE(testing::eventually([&] { return delivered(p.telegram, payment_id_of(good)) == 1; }, 60s, 50ms));
  REQUIRE(testing::eventually([&] { return parked_count(*p.retrier, group) == 2; }, 60s, 100ms));
  CHECK(std::chrono::steady_clock::now() - sent_at < 10s);
  const auto page = parked(*p.retrier, group);
  std::set<std::string> values;
  for (const auto& item : page["items"].GetArray()) {
    CHECK(std::string(item["reason"].GetString()) == "FATAL");
    CHECK(item["attempt"].GetInt() == 1);
    CHECK(std::string(item["message"].GetString()).size() > 0);
    const auto detail = json_of(p.retrier->get("/v1/parked/" + std::to_string(item["id"].GetInt64()), admin())->body);
    values.insert(detail["value"].GetString());
  }
  CHECK(values == std::set<std::string>{bad_json.data, wrong_schema.data});
  CHECK(p.telegram.attempts() == 1);
}

TEST_CASE("1,000 payment events with Telegram failing 10 % at random: every one delivered exactly once in the end") {
  auto b = behaviour();
  b.fail_rate = 0.1;
  // Seven re-deliveries, eight deliveries in all before parking: a record fails all of
  // them with probability 1e-8.
  Pipeline p(b, {{"PAYPIPE_RETRIER_MAX_RETRIES", "7"}}, 300);
  TopicReader dlq(p.system.kafka(), p.topic("dlq." + group));
  std::set<std::string> payment_ids;
  for (int i = 0; i < 1000; ++i) {
    const auto e = payment(std::to_string(2000 + i % 20));
    payment_ids.insert(payment_id_of(e));
    p.publish(e);
  }
  p.flush();

  REQUIRE(testing::eventually([&] { return delivered_by_payment(p.telegram).size() == 1000; }, 180s, 200ms));
  CHECK(dlq.poll_for(5s, 50).size() >= 50);  // about 100 took the dlq -> retry path
  std::this_thread::sleep_for(2s);  // let any duplicate arrive; there is no event to wait for
  const auto copies = delivered_by_payment(p.telegram);
  CHECK(copies.size() == 1000);
  int duplicated = 0;
  for (const auto& [id, n] : copies) {
    if (n != 1 || !payment_ids.count(id)) ++duplicated;
  }
  CHECK(duplicated == 0);
  CHECK(p.telegram.delivered().size() == 1000);
  CHECK(p.telegram.attempts() > 1000);
  CHECK(parked_count(*p.retrier, group, "ALL") == 0);
}

TEST_CASE("dlq-retrier killed and restarted while Telegram recovers: every message delivered once") {
  auto b = behaviour();
  b.fail_first = 150;  // the first delivery of each of the 150 events fails
  Pipeline p(b, {{"PAYPIPE_RETRIER_BATCH_SIZE", "5"}, {"PAYPIPE_KAFKA_PROPERTIES", "session.timeout.ms=6000"}}, 1000);
  TopicReader retry(p.system.kafka(), p.topic("retry." + group));
  std::set<std::string> payment_ids;
  for (int i = 0; i < 150; ++i) {
    const auto e = payment(std::to_string(3000 + i % 10));
    payment_ids.insert(payment_id_of(e));
    p.publish(e);
  }
  p.flush();
  REQUIRE(retry.poll_for(60s, 20).size() >= 20);
  p.retrier->kill();
  p.retrier->start();
  p.retrier->wait_ready();
  REQUIRE(testing::eventually([&] { return delivered_by_payment(p.telegram).size() == 150; }, 120s, 200ms));
  const auto& retried = retry.poll_for(3s);
  // Nothing republished twice: each (event, attempt) once. (A retry that met one of the
  // first 150 failures legitimately comes back as attempt 3.)
  std::map<std::string, int> republished;
  std::set<std::string> events_retried;
  for (const auto& r : retried) {
    ++republished[header_of(r, "ce_id") + "/" + header_of(r, "attempt")];
    events_retried.insert(header_of(r, "ce_id"));
  }
  CHECK(events_retried.size() == 150);
  for (const auto& [id, n] : republished) {
    INFO(id);
    CHECK(n == 1);
  }
  const auto copies = delivered_by_payment(p.telegram);
  for (const auto& id : payment_ids) CHECK(copies.at(id) == 1);
  CHECK(p.telegram.attempts() >= 300);
}
