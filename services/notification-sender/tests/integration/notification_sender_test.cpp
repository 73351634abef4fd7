// notification-sender's real parts (config, notifier, log, consumer runtime) against the
// real broker and PostgreSQL, with the in-process fake Telegram as the outside world.
#include <catch2/catch.hpp>

#include <mutex>
#include <set>

#include "contracts/payment_completed.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "events/dead_letter.hpp"
#include "events/producer.hpp"
#include "fakes/fake_telegram.hpp"
#include "http/client.hpp"
#include "pg/migrate.hpp"
#include "runtime/daemon.hpp"
#include "src/config.hpp"
#include "src/http_api.hpp"
#include "src/notifier.hpp"
#include "src/schema.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;
using namespace std::chrono_literals;

namespace {

const std::string group = "notification-sender";

// One notification-sender, built from its configuration as main.cpp builds it, on a
// fresh topic prefix and schema.
struct Sender {
  std::string prefix = testing::unique_name("n") + ".";
  std::string schema = testing::unique_name("notify");
  events::KafkaOptions kafka = testing::kafka_options(prefix);
  pg::Connection connection = testing::connect(schema);
  testing::FakeTelegram telegram;
  Config config;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<events::Producer> producer;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<Notifier> notifier;
  std::unique_ptr<events::ConsumerRuntime> consumer;

  explicit Sender(std::map<std::string, std::string> extra = {}) {
    std::vector<std::string> topics = notified_types();
    topics.push_back(events::retry_topic(group));
    topics.push_back(events::dlq_topic(group));
    testing::create_topics(kafka, topics, 3);
    std::map<std::string, std::string> env{
        {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", testing::stack().kafka_bootstrap},
        {"PAYPIPE_PG_DSN", testing::stack().pg_dsn},
        {"PAYPIPE_PG_SCHEMA", schema},
        {"PAYPIPE_TOPIC_PREFIX", prefix},
        {"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
        {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
        {"PAYPIPE_RETRY_INITIAL_DELAY_MS", "10"},
        {"PAYPIPE_RETRY_MAX_DELAY_MS", "50"},
        // The users these tests send to; a user without a chat gets no message.
        {"PAYPIPE_TELEGRAM_CHAT_IDS", "bob=1002,carol=1003,dave=1004,erin=1005,frank=1006,ivan=1009"},
    };
    for (auto& [k, v] : extra) env[k] = v;
    core::Env variables(env);
    config = Config::read(variables);
    REQUIRE(variables.finish().ok());
    const auto migrations = runtime::with_event_tables(schema::embedded_files());
    REQUIRE(pg::migrate(connection, schema, migrations).ok());
    pool = std::make_unique<pg::Pool>(config.common.database);
    auto created = events::Producer::create(kafka);
    REQUIRE(created.ok());
    producer = std::move(created).value();
    start();
  }

  ~Sender() {
    stop();
    (void)connection.exec("DROP SCHEMA " + schema + " CASCADE");
  }

  void start() {
    client = std::make_unique<http::Client>(config.client_options());
    notifier = std::make_unique<Notifier>(config, *pool, *client);
    auto runtime = events::ConsumerRuntime::concurrent(kafka, config.consumer, *producer, notifier->handler());
    REQUIRE(runtime.ok());
    consumer = std::move(runtime).value();
    REQUIRE(consumer->start().ok());
  }

  // main.cpp's order.
  void stop() {
    if (!consumer) return;
    consumer->stop(10s);
    notifier->stop();
    client.reset();
    consumer.reset();
    notifier.reset();
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
  CHECK(s.telegram.attempts() == 3);  // the default policy: three tries in process
  CHECK(s.telegram.delivered().empty());
  CHECK(s.logged(event.id) == 0);
}

TEST_CASE("a Telegram stalled past the timeout sends the record to the DLQ; the retry delivers it once") {
  Sender s({{"PAYPIPE_TELEGRAM_TIMEOUT_MS", "300"}, {"PAYPIPE_RETRY_MAX_ATTEMPTS", "2"}});
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
  REQUIRE(s.producer->send_and_wait(events::retry_record(dead[0], s.kafka.topic(events::retry_topic(group)), 2), 10s).ok());
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
                  "AND reason = 'no-chat' AND event_id = '" + e.id + "'") == 1);
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
