// notification-sender as its daemon builds it (config, notifier, log, consumer runtime)
// against the real broker and PostgreSQL, with the in-process fake Telegram as the
// outside world.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "contracts/payment_completed.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "events/dead_letter.hpp"
#include "events/producer.hpp"
#include "fakes/fake_telegram.hpp"
#include "http/client.hpp"
#include "notification_sender/config.hpp"
#include "notification_sender/http_api.hpp"
#include "notification_sender/notifier.hpp"
#include "notification_sender/schema.hpp"
#include "notification_sender/service.hpp"
#include "notification_sender/webhook.hpp"
#include "runtime/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/identity.hpp"
#include "support/outcomes.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;
using namespace std::chrono_literals;

namespace {

const std::string group = "notification-sender";

// One notification-sender, the daemon's own build_service() from its configuration, on a
// fresh topic prefix and schema; `producer` publishes the test's events.
struct Sender : testing::FreshSchema {
  std::string prefix = testing::unique_name("n") + ".";
  events::KafkaOptions kafka = testing::kafka_options(prefix);
  testing::FakeTelegram telegram;
  Config config;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<events::Producer> producer;
  std::unique_ptr<runtime::Service> service;

  explicit Sender(std::map<std::string, std::string> extra = {})
      : FreshSchema("notify", runtime::with_event_tables(schema::embedded_files())) {
    std::vector<std::string> topics = consumed_topics();
    topics.push_back(events::retry_topic(group));
    topics.push_back(events::dlq_topic(group));
    testing::create_topics(kafka, topics, 3);
    std::map<std::string, std::string> env{
        {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", testing::stack().kafka_bootstrap},
        {"PAYPIPE_PG_DSN", testing::stack().pg_dsn},
        {"PAYPIPE_PG_SCHEMA", schema},
        {"PAYPIPE_TOPIC_PREFIX", prefix},
        {"PAYPIPE_PROFILE", "local"},  // topics of one replica
        {"PAYPIPE_HTTP_ADDRESS", "127.0.0.1"},
        {"PAYPIPE_HTTP_PORT", "0"},
        {"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
        {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
        {"PAYPIPE_RETRY_INTERVAL_MS", "10"},
        // The users these tests send to; a user without a chat gets no message.
        {"PAYPIPE_TELEGRAM_CHAT_IDS", "bob=1002,carol=1003,dave=1004,erin=1005,frank=1006,ivan=1009"},
    };
    for (auto& [k, v] : extra) env[k] = v;
    core::Env variables(env);
    config = Config::read(variables);
    REQUIRE(variables.finish().ok());
    pool = std::make_unique<pg::Pool>(config.common.database);
    auto created = events::Producer::create(kafka);
    REQUIRE(created.ok());
    producer = std::move(created).value();
    start();
  }

  ~Sender() { stop(); }

  void start() {
    service = build_service(config, runtime::with_event_tables(schema::embedded_files()));
    REQUIRE(service->start().ok());
  }

  // The daemon's stop plan.
  void stop() {
    if (!service) return;
    service->stop();
    service.reset();
  }

  events::Event payment(const std::string& user, std::string order_id = core::new_uuid_v7()) {
    const contracts::PaymentCompleted data{core::new_uuid_v7(), order_id, user, 3000, "KRW", core::now_rfc3339()};
    return events::make_event("payment.completed", "/paypipe/payment-api", order_id, contracts::encode(data));
  }

  void publish(const events::Event& event, const std::string& topic = "payment.completed") {
    REQUIRE(producer->send_and_wait({kafka.topic(topic), event.key, event.data, events::to_headers(event)}, 10s).ok());
  }

  std::int64_t count(const std::string& sql) { return testing::query_integer(connection, sql); }
  std::int64_t logged(const std::string& event_id) {
    return count("SELECT count(*) FROM notifications WHERE event_id = '" + event_id + "'");
  }

  std::size_t messages_mentioning(const std::string& text) const {
    std::size_t n = 0;
    for (const auto& m : telegram.delivered()) n += m.text.find(text) != std::string::npos;
    return n;
  }

  http::Response list(std::map<std::string, std::string> query) {
    NotificationApi api(*pool);
    http::Router router;
    api.add_routes(router);
    http::Request request;
    request.method = "GET";
    request.path = "/v1/notifications";
    request.query = std::move(query);
    const auto match = router.match("GET", request.path);
    REQUIRE(match.route != nullptr);
    return match.route->handler(request);
  }
};

std::string payment_id_of(const events::Event& e) { return contracts::decode_payment_completed(e.data)->payment_id; }

// notifications_skipped_total{reason="no-chat"} in this process (0 before the first skip).
double skipped_count() {
  const auto text = core::metrics::serialize();
  const std::string name = "notifications_skipped_total{reason=\"no-chat\"} ";
  const auto at = text.find(name);
  return at == std::string::npos ? 0.0 : std::stod(text.substr(at + name.size()));
}

}  // namespace

TEST_CASE("a redelivered event is not sent again, from its topic or from retry.notification-sender") {
  Sender s({{"PAYPIPE_TELEGRAM_CHAT_IDS", "alice=1001"}, {"PAYPIPE_NOTIFY_LOCALES", "alice=en"}});
  const auto order = core::new_uuid_v7();
  const auto first = s.payment("alice", order);
  s.publish(first);
  REQUIRE(testing::eventually([&] { return s.logged(first.id) == 1; }, 30s));
  REQUIRE(s.telegram.delivered().size() == 1);
  const auto sent = s.telegram.delivered()[0];
  CHECK(sent.chat_id == "1001");
  CHECK(sent.text.rfind("[paypipe] Payment completed.", 0) == 0);
  CHECK(sent.text.find(payment_id_of(first)) != std::string::npos);

  // The same event again (same ce_id), on its topic and on the retry topic, each followed
  // by a fresh event of the same key: once those arrive, the duplicates were handled.
  const auto after_topic = s.payment("alice", order);
  const auto after_retry = s.payment("alice", order);
  s.publish(first);
  s.publish(after_topic);
  s.publish(first, events::retry_topic(group));
  s.publish(after_retry, events::retry_topic(group));
  REQUIRE(testing::eventually([&] { return s.logged(after_topic.id) == 1 && s.logged(after_retry.id) == 1; }, 30s));
  CHECK(s.messages_mentioning(payment_id_of(first)) == 1);
  CHECK(s.telegram.delivered().size() == 3);
  CHECK(s.telegram.attempts() == 3);
  CHECK(s.count("SELECT count(*) FROM notifications") == 3);

  // The log, through the API, paginated.
  auto page1 = s.list({{"userId", "alice"}, {"limit", "2"}});
  REQUIRE(page1.status == 200);
  auto doc1 = core::json::parse(page1.body);
  REQUIRE(doc1.ok());
  REQUIRE((*doc1)["items"].Size() == 2);
  CHECK(std::string((*doc1)["items"][0]["eventId"].GetString()) == first.id);
  CHECK(std::string((*doc1)["items"][0]["status"].GetString()) == "SENT");
  CHECK(std::string((*doc1)["items"][0]["locale"].GetString()) == "en");
  REQUIRE((*doc1)["next"].IsString());
  auto page2 = s.list({{"userId", "alice"}, {"limit", "2"}, {"after", (*doc1)["next"].GetString()}});
  auto doc2 = core::json::parse(page2.body);
  REQUIRE(doc2.ok());
  CHECK((*doc2)["items"].Size() == 1);
  CHECK((*doc2)["next"].IsNull());
  auto nobody = core::json::parse(s.list({{"userId", "bob"}}).body);
  CHECK((*nobody)["items"].Size() == 0);
  CHECK(s.list({{"limit", "0"}}).status == 400);
}

TEST_CASE("Telegram answering 500 sends the record to dlq.notification-sender after the in-process tries") {
  Sender s;
  s.telegram.set({.mode = "fail", .status = 500});
  const auto event = s.payment("bob");
  s.publish(event);
  const auto dead = testing::read_topic(s.kafka, s.kafka.topic(events::dlq_topic(group)), 1, 30s);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].key == event.key);
  CHECK(dead[0].value == event.data);
  CHECK(*events::find_header(dead[0].headers, "ce_id") == event.id);
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->error_class == "paypipe.notification-sender.TelegramUnavailable");
  CHECK(info->message.find("500") != std::string::npos);
  CHECK(info->original_topic == s.kafka.topic("payment.completed"));
  CHECK(info->original_offset == 0);
  CHECK(info->group == group);
  CHECK(info->kind == events::Outcome::Kind::retryable);
  CHECK(info->attempt == 1);
  CHECK(s.telegram.attempts() == 4);  // the default FixedBackOff(1000, 3): the first try and three retries
  CHECK(s.telegram.delivered().empty());
  CHECK(s.logged(event.id) == 0);
}

TEST_CASE("a Telegram stalled past the timeout sends the record to the DLQ; the retry delivers it once") {
  Sender s({{"PAYPIPE_TELEGRAM_TIMEOUT_MS", "300"}, {"PAYPIPE_RETRY_MAX_RETRIES", "1"}});
  s.telegram.set({.mode = "stall", .stall = 1500ms});
  const auto event = s.payment("carol");
  s.publish(event);
  const auto dead = testing::read_topic(s.kafka, s.kafka.topic(events::dlq_topic(group)), 1, 30s);
  REQUIRE(dead.size() == 1);
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->error_class == "paypipe.notification-sender.TelegramTimeout");
  CHECK(info->message.find("timed out") != std::string::npos);
  CHECK(info->message.find(s.telegram.token()) == std::string::npos);  // the URL holds the token
  CHECK(s.telegram.attempts() == 2);

  // What dlq-retrier does later: back to retry.notification-sender as attempt 2. (The
  // fake counts a stalled request as delivered, as Telegram may have delivered it: a
  // timeout is where at-least-once shows; we count what arrives from the retry on.)
  s.telegram.reset();
  REQUIRE(
      s.producer->send_and_wait(events::retry_record(dead[0], s.kafka.topic(events::retry_topic(group)), 2), 10s).ok());
  REQUIRE(testing::eventually([&] { return s.logged(event.id) == 1; }, 30s));
  CHECK(s.messages_mentioning(payment_id_of(event)) == 1);
  CHECK(s.telegram.attempts() == 1);
}

TEST_CASE("a 429 with Retry-After holds back every send until it has passed") {
  Sender s;
  s.telegram.set({.retry_after_seconds = 1, .rate_limit_first = 1});
  const auto first = s.payment("dave");
  s.publish(first);
  REQUIRE(testing::eventually([&] { return s.telegram.attempts() >= 1; }, 30s, 2ms));
  const auto limited_at = s.telegram.attempt_log().at(0).received_unix_ms;
  REQUIRE(s.telegram.attempt_log().at(0).status == 429);
  // Other keys, published after the 429: without the gate they would go out at once.
  std::vector<events::Event> others;
  for (int i = 0; i < 3; ++i) {
    others.push_back(s.payment("erin"));
    s.publish(others.back());
  }
  REQUIRE(testing::eventually([&] { return s.telegram.delivered().size() == 4; }, 30s));
  for (const auto& m : s.telegram.delivered()) {
    INFO(m.text);
    CHECK(m.received_unix_ms - limited_at >= 950);
  }
  CHECK(s.telegram.attempts() == 5);  // the held sends waited instead of being refused
  REQUIRE(testing::eventually([&] { return s.count("SELECT count(*) FROM notifications") == 4; }, 10s));
}

TEST_CASE("a message Telegram refuses (400) is dead-lettered at once as fatal") {
  Sender s;
  s.telegram.set({.mode = "fail", .status = 400});
  const auto event = s.payment("frank");
  s.publish(event);
  const auto dead = testing::read_topic(s.kafka, s.kafka.topic(events::dlq_topic(group)), 1, 30s);
  REQUIRE(dead.size() == 1);
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->kind == events::Outcome::Kind::fatal);
  CHECK(info->error_class == "paypipe.notification-sender.TelegramRejected");
  CHECK(s.telegram.attempts() == 1);
}

// The default rule: no chat, no message (a user id is never a chat id, issue 13).
TEST_CASE("users without a chat are logged as SKIPPED (no-chat), counted, and nothing is sent") {
  Sender s(std::map<std::string, std::string>{{"PAYPIPE_TELEGRAM_CHAT_IDS", "gina=2002"}});
  const auto skipped_before = skipped_count();
  const auto skipped = s.payment("henry");
  const auto numeric = s.payment("123456789");  // a user id that looks like a chat id
  const auto sent = s.payment("gina");
  s.publish(skipped);
  s.publish(numeric);
  s.publish(sent);
  REQUIRE(testing::eventually(
      [&] { return s.logged(skipped.id) == 1 && s.logged(numeric.id) == 1 && s.logged(sent.id) == 1; }, 30s));
  for (const auto& e : {skipped, numeric}) {
    CHECK(s.count("SELECT count(*) FROM notifications WHERE status = 'SKIPPED' AND chat_id IS NULL "
                  "AND reason = 'no-chat' AND event_id = '" +
                  e.id + "'") == 1);
  }
  CHECK(s.count("SELECT count(*) FROM notifications WHERE status = 'SENT' AND reason IS NULL AND event_id = '" +
                sent.id + "'") == 1);
  CHECK(skipped_count() - skipped_before == 2);
  auto listed = core::json::parse(s.list({{"userId", "henry"}}).body);
  REQUIRE(listed.ok());
  REQUIRE((*listed)["items"].Size() == 1);
  CHECK(std::string((*listed)["items"][0]["reason"].GetString()) == "no-chat");
  CHECK(s.telegram.attempts() == 1);  // only gina's: no call for henry or 123456789
  REQUIRE(s.telegram.delivered().size() == 1);
  CHECK(s.telegram.delivered()[0].chat_id == "2002");
  CHECK(s.telegram.delivered()[0].text.find("결제가 완료되었습니다") != std::string::npos);  // ko by default
}

TEST_CASE("stopping lets a send on the wire finish and commits it: a restarted sender does not repeat it") {
  Sender s;
  s.telegram.set({.delay = 800ms});
  const auto event = s.payment("ivan");
  s.publish(event);
  REQUIRE(testing::eventually([&] { return s.telegram.attempts() == 1; }, 30s, 5ms));
  s.stop();  // while Telegram is still answering
  CHECK(s.telegram.delivered().size() == 1);
  CHECK(s.logged(event.id) == 1);
  s.telegram.set({});
  s.start();
  const auto next = s.payment("ivan");
  s.publish(next);
  REQUIRE(testing::eventually([&] { return s.logged(next.id) == 1; }, 30s));
  CHECK(s.telegram.attempts() == 1);  // set() restarted the count: only `next` went out
  CHECK(s.messages_mentioning(payment_id_of(event)) == 1);
}

// ---------------------------------------------------------------------------------------
// Two runners of one record (issue 12, item 1). Seen in production: a partition revoked
// while its sends were slow (or held by a 429) was given to another replica, which ran
// the same records again while the first replica's jobs were still sending: every
// message went out two or three times. Here two notification-senders (two processes' worth
// of parts: their own Config, Notifier and Telegram client, one database) are handed
// the same record at once, as the old and the new owner of a partition are.
namespace {

struct Runner {
  Config config;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<Notifier> notifier;

  Runner(const std::map<std::string, std::string>& env_values, pg::Pool& pool) {
    core::Env variables(env_values);
    config = Config::read(variables);
    REQUIRE(variables.finish().ok());
    client = std::make_unique<http::Client>(config.client_options());
    notifier = std::make_unique<Notifier>(config, pool, *client);
  }
  ~Runner() {
    notifier->stop();
    notifier.reset();
    client.reset();
  }
};

using testing::Outcomes;

struct TwoRunners : testing::FreshSchema {
  testing::FakeTelegram telegram;
  std::unique_ptr<pg::Pool> pool;
  std::map<std::string, std::string> env;

  explicit TwoRunners(std::map<std::string, std::string> extra = {})
      : FreshSchema("notify", runtime::with_event_tables(schema::embedded_files())) {
    env = {
        {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", testing::stack().kafka_bootstrap},
        {"PAYPIPE_PG_DSN", testing::stack().pg_dsn},
        {"PAYPIPE_PG_SCHEMA", schema},
        {"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
        {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
        // The users these tests send to; a user without a chat gets no message.
        {"PAYPIPE_TELEGRAM_CHAT_IDS", "judy=2010,kim=2011,liam=2012,mia=2013,nora=2014,oscar=2015"},
    };
    for (auto& [k, v] : extra) env[k] = v;
    core::Env variables(env);
    const auto config = Config::read(variables);
    REQUIRE(variables.finish().ok());
    pool = std::make_unique<pg::Pool>(config.common.database);
  }

  static events::ConsumedEvent consumed(const events::Event& event) {
    events::ConsumedEvent c;
    c.event = event;
    c.topic = "payment.completed";
    return c;
  }
  static events::Event payment(const std::string& user) {
    const auto order_id = core::new_uuid_v7();
    const contracts::PaymentCompleted data{core::new_uuid_v7(), order_id, user, 3000, "KRW", core::now_rfc3339()};
    return events::make_event("payment.completed", "/paypipe/payment-api", order_id, contracts::encode(data));
  }
  // sendMessage calls that reached Telegram for this payment, answered or not.
  std::size_t calls_for(const events::Event& e) const {
    std::size_t n = 0;
    for (const auto& a : telegram.attempt_log()) n += a.text.find(payment_id_of(e)) != std::string::npos;
    return n;
  }
  std::int64_t count(const std::string& sql) { return testing::query_integer(connection, sql); }
};

double metric_value(const std::string& name) {
  const auto text = core::metrics::serialize();
  double total = 0;
  std::size_t at = 0;
  while ((at = text.find("\n" + name, at)) != std::string::npos) {
    const auto line_end = text.find('\n', at + 1);
    const auto line = text.substr(at + 1, line_end - at - 1);
    const auto space = line.rfind(' ');
    if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) total += std::stod(line.substr(space + 1));
    at = line_end;
  }
  return total;
}

}  // namespace

TEST_CASE("two runners handed one record at once: the message goes out once, the second finds the claim") {
  TwoRunners t;
  t.telegram.set({.delay = 800ms});  // a slow Telegram: both runners are in flight together
  Runner old_owner(t.env, *t.pool);
  Runner new_owner(t.env, *t.pool);
  const auto event = TwoRunners::payment("judy");
  Outcomes first, second;
  old_owner.notifier->handle(TwoRunners::consumed(event), first.callback());
  new_owner.notifier->handle(TwoRunners::consumed(event), second.callback());
  REQUIRE(testing::eventually([&] { return first.size() == 1 && second.size() == 1; }, 30s));
  CHECK(t.calls_for(event) == 1);  // was 2: both read the log before either wrote it
  const auto a = first.all()[0], b = second.all()[0];
  CHECK(a.succeeded() != b.succeeded());  // one sent; the other was told to come back
  const auto& waiting = a.succeeded() ? b : a;
  CHECK(waiting.kind == events::Outcome::Kind::retryable);
  CHECK(waiting.error_class == "paypipe.notification-sender.ClaimedElsewhere");
  REQUIRE(waiting.retry_after.has_value());  // it waits out the holder's lease at most
  CHECK(*waiting.retry_after <= 65100ms);
  CHECK(t.count("SELECT count(*) FROM notifications WHERE event_id = '" + event.id + "'") == 1);
  CHECK(t.count("SELECT count(*) FROM notification_claims WHERE NOT done") == 0);  // the log row ended the claim

  // Its retry finds the event logged: done, nothing sent.
  Outcomes again;
  (a.succeeded() ? new_owner : old_owner).notifier->handle(TwoRunners::consumed(event), again.callback());
  REQUIRE(testing::eventually([&] { return again.size() == 1; }, 30s));
  CHECK(again.all()[0].succeeded());
  CHECK(t.calls_for(event) == 1);
}

TEST_CASE("two runners with Telegram answering 429 retry_after: still one message per event") {
  TwoRunners t(std::map<std::string, std::string>{{"PAYPIPE_TELEGRAM_TIMEOUT_MS", "5000"}});
  t.telegram.set({.retry_after_seconds = 1, .rate_limit_first = 1});
  Runner old_owner(t.env, *t.pool);
  Runner new_owner(t.env, *t.pool);
  std::vector<events::Event> events_sent;
  Outcomes from_old, from_new;
  for (int i = 0; i < 5; ++i) events_sent.push_back(TwoRunners::payment("kim"));
  for (const auto& e : events_sent) old_owner.notifier->handle(TwoRunners::consumed(e), from_old.callback());
  for (const auto& e : events_sent) new_owner.notifier->handle(TwoRunners::consumed(e), from_new.callback());
  REQUIRE(testing::eventually([&] { return from_old.size() == 5 && from_new.size() == 5; }, 30s));
  // Whatever was told to retry is retried, as the runtime would, until each event is done.
  const auto logged = [&](const events::Event& e) {
    return t.count("SELECT count(*) FROM notifications WHERE event_id = '" + e.id + "'") == 1;
  };
  const auto all_logged = [&] { return std::all_of(events_sent.begin(), events_sent.end(), logged); };
  for (int round = 0; round < 10 && !testing::eventually(all_logged, 2s); ++round) {
    Outcomes retried;
    std::size_t n = 0;
    for (const auto& e : events_sent) {
      if (logged(e)) continue;
      new_owner.notifier->handle(TwoRunners::consumed(e), retried.callback());
      ++n;
    }
    REQUIRE(testing::eventually([&] { return retried.size() == n; }, 30s));
  }
  for (const auto& e : events_sent) {
    INFO(e.id);
    CHECK(t.count("SELECT count(*) FROM notifications WHERE event_id = '" + e.id + "'") == 1);
    std::size_t delivered = 0;
    for (const auto& m : t.telegram.delivered()) delivered += m.text.find(payment_id_of(e)) != std::string::npos;
    CHECK(delivered == 1);
  }
}

TEST_CASE("an expired claim of another owner is taken over and counted as a possible duplicate") {
  TwoRunners t;
  Runner runner(t.env, *t.pool);
  const auto expired = TwoRunners::payment("liam");
  const auto live = TwoRunners::payment("liam");
  REQUIRE(t.connection
              .exec("INSERT INTO notification_claims (event_id, owner, lease_until) VALUES "
                    "($1::uuid, 'crashed-pod/1/x', now() - interval '1 second'), "
                    "($2::uuid, 'busy-pod/1/y', now() + interval '60 seconds')",
                    expired.id, live.id)
              .ok());
  const auto before = metric_value("notification_possible_duplicates_total");
  Outcomes outcomes;
  runner.notifier->handle(TwoRunners::consumed(expired), outcomes.callback());
  runner.notifier->handle(TwoRunners::consumed(live), outcomes.callback());
  REQUIRE(testing::eventually([&] { return outcomes.size() == 2; }, 30s));
  CHECK(t.calls_for(expired) == 1);  // taken over: sent
  CHECK(t.calls_for(live) == 0);     // held by a live owner: not sent
  CHECK(metric_value("notification_possible_duplicates_total") - before == 1);
  CHECK(t.count("SELECT count(*) FROM notifications WHERE event_id = '" + expired.id + "'") == 1);
  CHECK(t.count("SELECT count(*) FROM notification_claims WHERE event_id = '" + live.id +
                "' AND owner = 'busy-pod/1/y'") == 1);
  bool held_told = false;
  for (const auto& o : outcomes.all()) {
    if (!o.succeeded()) {
      held_told = o.error_class == "paypipe.notification-sender.ClaimedElsewhere" && o.retry_after &&
                  *o.retry_after > 50s && *o.retry_after <= 61s;
    }
  }
  CHECK(held_told);
}

TEST_CASE("an abandoned job never calls Telegram: on arrival, or while it waits at a closed gate") {
  TwoRunners t;
  Runner runner(t.env, *t.pool);
  // Abandoned before it starts.
  const auto early = TwoRunners::payment("mia");
  auto consumed = TwoRunners::consumed(early);
  auto flag = std::make_shared<std::atomic<bool>>(true);
  consumed.abandoned = flag;
  Outcomes outcomes;
  runner.notifier->handle(consumed, outcomes.callback());
  REQUIRE(testing::eventually([&] { return outcomes.size() == 1; }, 10s));
  CHECK(outcomes.all()[0].kind == events::Outcome::Kind::retryable);
  CHECK(t.calls_for(early) == 0);

  // Abandoned while the gate holds it (a 429 closed it for a minute).
  runner.notifier->gate().close_for(60s);
  const auto held = TwoRunners::payment("mia");
  auto held_consumed = TwoRunners::consumed(held);
  auto held_flag = std::make_shared<std::atomic<bool>>(false);
  held_consumed.abandoned = held_flag;
  Outcomes held_outcomes;
  runner.notifier->handle(held_consumed, held_outcomes.callback());
  REQUIRE(testing::eventually([&] { return runner.notifier->gate().waiting() == 1; }, 10s));
  CHECK(t.count("SELECT count(*) FROM notification_claims WHERE event_id = '" + held.id + "'") == 1);
  held_flag->store(true);
  REQUIRE(testing::eventually([&] { return held_outcomes.size() == 1; }, 5s));
  CHECK(held_outcomes.all()[0].kind == events::Outcome::Kind::retryable);
  CHECK(held_outcomes.all()[0].error_class == "paypipe.notification-sender.Abandoned");
  CHECK(t.calls_for(held) == 0);
  // Its claim is given up, so the partition's next owner need not wait out the lease.
  REQUIRE(testing::eventually(
      [&] { return t.count("SELECT count(*) FROM notification_claims WHERE event_id = '" + held.id + "'") == 0; },
      10s));
}

TEST_CASE("a Telegram timeout is counted as a maybe-sent and keeps the claim for the retry (which resends)") {
  TwoRunners t(std::map<std::string, std::string>{{"PAYPIPE_TELEGRAM_TIMEOUT_MS", "300"}});
  t.telegram.set({.mode = "stall", .stall = 1500ms});
  Runner runner(t.env, *t.pool);
  Runner other(t.env, *t.pool);
  const auto event = TwoRunners::payment("nora");
  const auto before = metric_value("telegram_maybe_sent_total");
  Outcomes outcomes;
  runner.notifier->handle(TwoRunners::consumed(event), outcomes.callback());
  REQUIRE(testing::eventually([&] { return outcomes.size() == 1; }, 10s));
  CHECK(outcomes.all()[0].error_class == "paypipe.notification-sender.TelegramTimeout");
  CHECK(metric_value("telegram_maybe_sent_total") - before == 1);
  // Telegram may have sent it: the claim stays, so another replica does not send it now...
  CHECK(t.count("SELECT count(*) FROM notification_claims WHERE event_id = '" + event.id + "'") == 1);
  Outcomes elsewhere;
  other.notifier->handle(TwoRunners::consumed(event), elsewhere.callback());
  REQUIRE(testing::eventually([&] { return elsewhere.size() == 1; }, 10s));
  CHECK(elsewhere.all()[0].error_class == "paypipe.notification-sender.ClaimedElsewhere");
  CHECK(t.calls_for(event) == 1);
  // ...while the owner's own retry sends it again: the decision documented in telegram.hpp.
  t.telegram.set({});
  Outcomes retried;
  runner.notifier->handle(TwoRunners::consumed(event), retried.callback());
  REQUIRE(testing::eventually([&] { return retried.size() == 1; }, 10s));
  CHECK(retried.all()[0].succeeded());
  CHECK(t.calls_for(event) == 2);
}

TEST_CASE("a done claim is never claimed again, even by a runner that does not see the log row yet") {
  // A runner whose statement snapshot predates the log row's commit sees no row; the
  // claim is what must stop it. Once, the claim was deleted with the log write, and a
  // second runner claimed the event afresh and sent it again.
  TwoRunners t;
  Runner runner(t.env, *t.pool);
  const auto event = TwoRunners::payment("oscar");
  REQUIRE(t.connection
              .exec("INSERT INTO notification_claims (event_id, owner, lease_until, done) "
                    "VALUES ($1::uuid, 'finished-pod/1/z', now() - interval '1 hour', true)",
                    event.id)
              .ok());
  Outcomes outcomes;
  runner.notifier->handle(TwoRunners::consumed(event), outcomes.callback());
  REQUIRE(testing::eventually([&] { return outcomes.size() == 1; }, 10s));
  CHECK(t.calls_for(event) == 0);
  CHECK(outcomes.all()[0].succeeded());  // the statement saw the done claim: done
  CHECK(t.count("SELECT count(*) FROM notification_claims WHERE event_id = '" + event.id +
                "' AND owner = 'finished-pod/1/z' AND done") == 1);
}

namespace {

// The daemon's HTTP side, over a real connection: link tokens and the bot's webhook.
struct LinkClient {
  Sender& s;
  http::Client client;
  std::string secret;

  http::ClientResponse post(const std::string& path, std::string body, std::vector<http::Header> headers) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = "http://127.0.0.1:" + std::to_string(s.service->port()) + path;
    request.headers = std::move(headers);
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = std::move(body);
    auto answer = client.send(std::move(request));
    REQUIRE(answer.ok());
    return std::move(answer).value();
  }

  // POST /v1/telegram/link-tokens as `user`: the token.
  std::string link_token(const std::string& user) {
    const auto answer = post("/v1/telegram/link-tokens", "",
                             {{"Authorization", "Bearer " + testing::Identity::shared().token(user)}});
    REQUIRE(answer.status == 201);
    CHECK(answer.header("Cache-Control") == "no-store");
    auto doc = core::json::parse(answer.body);
    REQUIRE(doc.ok());
    const std::string token = (*doc)["token"].GetString();
    CHECK(std::string((*doc)["deepLink"].GetString()) == "https://t.me/paypipe_bot?start=" + token);
    CHECK((*doc)["expiresAt"].IsString());
    return token;
  }

  // A message in `chat` as Telegram delivers it to the webhook.
  http::ClientResponse says(std::int64_t chat, const std::string& text, std::optional<std::string> with_secret = {}) {
    static std::int64_t update_id = 1;
    const std::string body = R"({"update_id":)" + std::to_string(update_id++) +
                             R"(,"message":{"message_id":1,"date":1700000000,"from":{"id":)" + std::to_string(chat) +
                             R"(,"is_bot":false,"first_name":"T","language_code":"en"},"chat":{"id":)" +
                             std::to_string(chat) + R"(,"type":"private"},"text":")" + text + R"("}})";
    std::vector<http::Header> headers;
    const auto header = with_secret.value_or(secret);
    if (!header.empty()) headers.push_back({std::string(webhook_secret_header), header});
    return post("/v1/telegram/webhook", body, std::move(headers));
  }

  // The bot's answers to `chat` so far.
  std::vector<std::string> answers_to(std::int64_t chat) const {
    std::vector<std::string> texts;
    for (const auto& m : s.telegram.delivered()) {
      if (m.chat_id == std::to_string(chat) && m.text.find("Payment") == std::string::npos) texts.push_back(m.text);
    }
    return texts;
  }
};

std::map<std::string, std::string> linking_env() {
  auto env = testing::Identity::shared().environment();
  env["PAYPIPE_TELEGRAM_WEBHOOK_SECRET"] = "hook-secret-for-tests";
  env["PAYPIPE_TELEGRAM_CHAT_IDS"] = "";  // only linked chats
  return env;
}

}  // namespace

TEST_CASE("a chat linked by /start <link-token> gets its user's messages until /stop") {
  Sender s(linking_env());
  LinkClient c{s, http::Client(), "hook-secret-for-tests"};
  constexpr std::int64_t linda_chat = 777001;

  // Only the user's own bearer token makes a link token.
  CHECK(c.post("/v1/telegram/link-tokens", "", {}).status == 401);
  const auto token = c.link_token("linda");

  // The webhook refuses a missing or wrong secret, and links nothing.
  const auto missing = c.says(linda_chat, "/start " + token, std::string());
  CHECK(missing.status == 401);
  CHECK(std::string(missing.header("Content-Type").value_or("")).rfind("application/problem+json", 0) == 0);
  CHECK(c.says(linda_chat, "/start " + token, std::string("hook-secret-for-test")).status == 403);
  CHECK(c.says(linda_chat, "/start " + token, std::string("hook-secret-for-tests-")).status == 403);
  CHECK(s.count("SELECT count(*) FROM telegram_chats") == 0);
  CHECK(c.post("/v1/telegram/webhook", "not json", {{std::string(webhook_secret_header), c.secret}}).status == 400);

  // /start with the token: linked, and the bot says so in that chat.
  REQUIRE(c.says(linda_chat, "/start " + token).status == 200);
  REQUIRE(testing::eventually([&] { return c.answers_to(linda_chat).size() == 1; }, 10s));
  CHECK(c.answers_to(linda_chat)[0] == reply("telegram.linked", Locale::en));
  CHECK(s.count("SELECT count(*) FROM telegram_chats WHERE user_id = 'linda' AND chat_id = '777001'") == 1);
  CHECK(s.count("SELECT count(*) FROM telegram_link_tokens WHERE token_hash = '" + token + "'") == 0);  // hashed

  // A payment of hers goes to that chat, in the chat's language.
  const auto paid = s.payment("linda");
  s.publish(paid);
  REQUIRE(testing::eventually([&] { return s.logged(paid.id) == 1; }, 30s));
  REQUIRE(s.messages_mentioning(payment_id_of(paid)) == 1);
  for (const auto& m : s.telegram.delivered()) {
    if (m.text.find(payment_id_of(paid)) != std::string::npos) {
      CHECK(m.chat_id == "777001");
      CHECK(m.text.rfind("[paypipe] Payment completed.", 0) == 0);
    }
  }

  // /stop: forgotten, and her next payment is logged as skipped, with no message.
  const auto before_stop = s.telegram.delivered().size();
  REQUIRE(c.says(linda_chat, "/stop").status == 200);
  REQUIRE(testing::eventually([&] { return s.telegram.delivered().size() == before_stop + 1; }, 10s));
  CHECK(c.answers_to(linda_chat).back() == reply("telegram.unlinked", Locale::en));
  CHECK(s.count("SELECT count(*) FROM telegram_chats") == 0);
  const auto after_stop = s.payment("linda");
  s.publish(after_stop);
  REQUIRE(testing::eventually([&] { return s.logged(after_stop.id) == 1; }, 30s));
  CHECK(s.count("SELECT count(*) FROM notifications WHERE event_id = '" + after_stop.id + "' AND status = 'SKIPPED'") ==
        1);
  CHECK(s.messages_mentioning(payment_id_of(after_stop)) == 0);
}

TEST_CASE("a link token works once, not after it expires, and only for the user it was made for") {
  Sender s(linking_env());
  LinkClient c{s, http::Client(), "hook-secret-for-tests"};
  constexpr std::int64_t linda_chat = 777011, stranger_chat = 777012, mike_chat = 777013;

  const auto token = c.link_token("linda");
  REQUIRE(c.says(linda_chat, "/start " + token).status == 200);
  // Used again, from another chat: refused, and her chat stays hers.
  REQUIRE(c.says(stranger_chat, "/start " + token).status == 200);
  REQUIRE(testing::eventually([&] { return c.answers_to(stranger_chat).size() == 1; }, 10s));
  CHECK(c.answers_to(stranger_chat)[0] == reply("telegram.link-refused", Locale::en));
  CHECK(s.count("SELECT count(*) FROM telegram_chats WHERE user_id = 'linda' AND chat_id = '777011'") == 1);

  // Expired: refused.
  const auto late = c.link_token("linda");
  s.count(
      "WITH e AS (UPDATE telegram_link_tokens SET expires_at = now() - interval '1 second' "
      "WHERE user_id = 'linda' AND used_at IS NULL RETURNING 1) SELECT count(*) FROM e");
  REQUIRE(c.says(stranger_chat, "/start " + late).status == 200);
  REQUIRE(testing::eventually([&] { return c.answers_to(stranger_chat).size() == 2; }, 10s));
  CHECK(c.answers_to(stranger_chat)[1] == reply("telegram.link-refused", Locale::en));
  // A new token replaces the previous one: the earlier, unused, is refused.
  const auto earlier = c.link_token("mike");
  const auto mike_token = c.link_token("mike");
  CHECK(s.count("SELECT count(*) FROM telegram_link_tokens WHERE user_id = 'mike'") == 1);
  REQUIRE(c.says(stranger_chat, "/start " + earlier).status == 200);
  REQUIRE(testing::eventually([&] { return c.answers_to(stranger_chat).size() == 3; }, 10s));
  // Made up: refused without a lookup.
  REQUIRE(c.says(stranger_chat, "/start not-a-token-at-all!").status == 200);
  REQUIRE(testing::eventually([&] { return c.answers_to(stranger_chat).size() == 4; }, 10s));
  for (const auto& answer : c.answers_to(stranger_chat)) CHECK(answer == reply("telegram.link-refused", Locale::en));
  CHECK(s.count("SELECT count(*) FROM telegram_chats WHERE chat_id = '777012'") == 0);

  // Mike's token links Mike's chat, never Linda's: each payment goes to its own user's chat.
  REQUIRE(c.says(mike_chat, "/start " + mike_token).status == 200);
  REQUIRE(testing::eventually([&] { return c.answers_to(mike_chat).size() == 1; }, 10s));
  const auto linda_paid = s.payment("linda");
  const auto mike_paid = s.payment("mike");
  s.publish(linda_paid);
  s.publish(mike_paid);
  REQUIRE(testing::eventually([&] { return s.logged(linda_paid.id) == 1 && s.logged(mike_paid.id) == 1; }, 30s));
  std::map<std::string, std::string> chat_of;
  for (const auto& m : s.telegram.delivered()) {
    if (m.text.find(payment_id_of(linda_paid)) != std::string::npos) chat_of["linda"] = m.chat_id;
    if (m.text.find(payment_id_of(mike_paid)) != std::string::npos) chat_of["mike"] = m.chat_id;
  }
  CHECK(chat_of["linda"] == "777011");
  CHECK(chat_of["mike"] == "777013");
  CHECK(c.answers_to(stranger_chat).size() == 4);  // nothing of theirs reached the stranger
}
