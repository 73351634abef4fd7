// payment-api and notification-sender as processes, Telegram faked in-process: every
// payment accepted over HTTP becomes exactly one Telegram message.
//
// A hidden case, [.perf], measures notification-sender alone (events published straight
// to Kafka at a fixed rate) and prints throughput and latency; run it by hand, e.g.
//   NOTIFY_PERF_RATE=2000 NOTIFY_PERF_SECONDS=10 NOTIFY_PERF_DELAY_MS=0
//   NOTIFY_PERF_ENV="PAYPIPE_CONSUMER_MAX_IN_FLIGHT=512"   (more variables for the daemon, ';'-separated)
//   build/tests/e2e/e2e_notification_tests '[.perf]'
// with the variables set in the environment.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "contracts/order_created.hpp"
#include "contracts/payment_completed.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "fakes/fake_telegram.hpp"
#include "http/client.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// Every UUID a message mentions.
std::vector<std::string> uuids_in(const std::string& text) {
  static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  std::vector<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), uuid); it != std::sregex_iterator(); ++it) {
    found.push_back(it->str());
  }
  return found;
}

double percentile(std::vector<std::int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return static_cast<double>(values[index]);
}

// PAYPIPE_TELEGRAM_CHAT_IDS for users <prefix>0 .. <prefix>(n-1): chats 1000000 + i.
std::string chat_ids(const std::string& prefix, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += (i ? "," : "") + prefix + std::to_string(i) + "=" + std::to_string(1000000 + i);
  }
  return out;
}

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoi(value) : fallback;
}

}  // namespace

TEST_CASE("1,000 payments through payment-api each produce exactly one Telegram message") {
  constexpr int payments = 1000;
  constexpr int users = 10;
  testing::FakeTelegram telegram;
  testing::System system;
  // 100 payments per user as fast as four threads go: the per-user write limit is off.
  testing::Daemon api(system, "payment-api", {{"PAYPIPE_RATE_LIMIT_PER_USER", "0"}});
  testing::Daemon sender(system, "notification-sender",
                         {{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
                          {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
                          {"PAYPIPE_TELEGRAM_CHAT_IDS", chat_ids("user-", users)}});
  api.wait_ready();
  sender.wait_ready();

  // Payable orders, announced as order-processor would, and money to pay them.
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());
  std::vector<std::pair<std::string, std::string>> orders;  // order id, user
  for (int i = 0; i < payments; ++i) {
    const auto order_id = core::new_uuid_v7();
    const auto user = "user-" + std::to_string(i % users);
    orders.emplace_back(order_id, user);
    const contracts::OrderCreated order{
        order_id, user,       {{"seat-" + std::to_string(i), 1, 1000}},     1000,
        "KRW",    "SHIPPING", core::format_rfc3339(core::now_ms() + 30min), core::now_rfc3339()};
    REQUIRE((*producer)
                ->send({system.kafka().topic("order.created"), order_id, contracts::encode(order),
                        events::to_headers(events::make_event("order.created", "/test", order_id, ""))},
                       nullptr)
                .ok());
  }
  REQUIRE((*producer)->flush(20s).ok());
  for (int u = 0; u < users; ++u) {
    auto deposit = api.post("/v1/wallets/user-" + std::to_string(u) + "/deposits",
                            R"({"amount":)" + std::to_string(1000 * payments / users) + "}",
                            {{"Idempotency-Key", "fund-" + std::to_string(u)}, testing::deposit_credential()});
    REQUIRE(deposit.ok());
    REQUIRE(deposit->status == 201);
  }
  auto projection = testing::connect(system.schema("payment-api"));
  REQUIRE(testing::eventually(
      [&] { return testing::query_integer(projection, "SELECT count(*) FROM payable_orders") == payments; }, 30s,
      50ms));

  // Pay from a few threads at once.
  std::mutex mutex;
  std::map<std::string, std::int64_t> accepted_at;  // payment id -> unix ms of the 201
  std::atomic<int> refused{0};
  std::vector<std::thread> payers;
  constexpr int threads = 4;
  const auto paying_since = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    payers.emplace_back([&, t] {
      http::Client client;
      for (int i = t; i < payments; i += threads) {
        const auto& [order_id, user] = orders[i];
        auto paid = client.send(
            {"POST",
             api.url("/v1/payments"),
             {{"Content-Type", "application/json"}, {"Idempotency-Key", "pay-" + order_id}, testing::bearer(user)},
             R"({"orderId":")" + order_id + R"(","userId":")" + user + R"("})",
             std::nullopt});
        if (!paid || paid->status != 201) {
          ++refused;
          continue;
        }
        auto body = core::json::parse(paid->body);
        std::lock_guard lock(mutex);
        accepted_at[(*body)["paymentId"].GetString()] = core::to_unix_ms(core::now_ms());
      }
    });
  }
  for (auto& p : payers) p.join();
  const auto paying_took = std::chrono::steady_clock::now() - paying_since;
  REQUIRE(refused == 0);
  REQUIRE(accepted_at.size() == payments);

  auto mentioned = [&] {
    std::set<std::string> ids;
    for (const auto& m : telegram.delivered()) {
      for (const auto& id : uuids_in(m.text)) {
        if (accepted_at.count(id)) ids.insert(id);
      }
    }
    return ids.size();
  };
  REQUIRE(testing::eventually([&] { return mentioned() == payments; }, 60s, 100ms));
  // A clean stop: whatever was still on its way would show up as a duplicate now.
  CHECK(sender.stop() == 0);

  std::map<std::string, int> times_sent;
  std::vector<std::int64_t> latencies;
  for (const auto& m : telegram.delivered()) {
    for (const auto& id : uuids_in(m.text)) {
      if (const auto it = accepted_at.find(id); it != accepted_at.end()) {
        ++times_sent[id];
        latencies.push_back(m.received_unix_ms - it->second);
      }
    }
  }
  CHECK(telegram.delivered().size() == payments);
  CHECK(times_sent.size() == payments);
  for (const auto& [id, n] : times_sent) {
    if (n != 1) FAIL_CHECK("payment " << id << " was announced " << n << " times");
  }
  WARN("paid " << payments << " in " << std::chrono::duration_cast<std::chrono::milliseconds>(paying_took).count()
               << " ms from " << threads << " threads; payment accepted -> message at Telegram: p50 "
               << percentile(latencies, 0.5) << " ms, p99 " << percentile(latencies, 0.99) << " ms, max "
               << percentile(latencies, 1.0) << " ms");
}

TEST_CASE("notification-sender throughput and latency, events straight from Kafka", "[.perf]") {
  const int rate = env_int("NOTIFY_PERF_RATE", 2000);  // events per second offered
  const int seconds = env_int("NOTIFY_PERF_SECONDS", 10);
  const int delay_ms = env_int("NOTIFY_PERF_DELAY_MS", 0);
  const int total = rate * seconds;
  testing::FakeTelegram telegram;
  telegram.set({.delay = std::chrono::milliseconds(delay_ms)});
  testing::System system;
  std::map<std::string, std::string> env{{"PAYPIPE_TELEGRAM_BASE_URL", telegram.base_url()},
                                         {"PAYPIPE_TELEGRAM_BOT_TOKEN", telegram.token()},
                                         {"PAYPIPE_LOG_LEVEL", "warn"},
                                         {"PAYPIPE_TELEGRAM_CHAT_IDS", chat_ids("u", 100)}};
  // Anything else for the daemon: NOTIFY_PERF_ENV="PAYPIPE_X=1;PAYPIPE_Y=2".
  if (const char* extra = std::getenv("NOTIFY_PERF_ENV")) {
    std::string rest = extra;
    while (!rest.empty()) {
      const auto end = rest.find(';');
      const auto item = rest.substr(0, end);
      if (const auto eq = item.find('='); eq != std::string::npos) env[item.substr(0, eq)] = item.substr(eq + 1);
      rest = end == std::string::npos ? "" : rest.substr(end + 1);
    }
  }
  testing::Daemon sender(system, "notification-sender", env);
  sender.wait_ready();
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());
  std::map<std::string, std::int64_t> published_at;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < total; ++i) {
    // Open loop: event i is due at start + i / rate, whether or not we are behind.
    std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<std::int64_t>(i) * 1'000'000 / rate));
    const auto order_id = core::new_uuid_v7();
    const contracts::PaymentCompleted data{core::new_uuid_v7(), order_id, "u" + std::to_string(i % 100), 1000, "KRW",
                                           core::now_rfc3339()};
    const auto event = events::make_event("payment.completed", "/perf", order_id, contracts::encode(data));
    published_at[data.payment_id] = core::to_unix_ms(core::now_ms());
    REQUIRE((*producer)->send_event(event, nullptr).ok());
  }
  REQUIRE((*producer)->flush(30s).ok());
  REQUIRE(
      testing::eventually([&] { return telegram.delivered().size() >= static_cast<std::size_t>(total); }, 300s, 50ms));
  const auto messages = telegram.delivered();
  std::vector<std::int64_t> latencies;
  std::int64_t last = 0;
  for (const auto& m : messages) {
    for (const auto& id : uuids_in(m.text)) {
      if (const auto it = published_at.find(id); it != published_at.end()) {
        latencies.push_back(m.received_unix_ms - it->second);
      }
    }
    last = std::max(last, m.received_unix_ms);
  }
  const auto first = std::min_element(published_at.begin(), published_at.end(), [](const auto& a, const auto& b) {
                       return a.second < b.second;
                     })->second;
  const double took = static_cast<double>(last - first) / 1000.0;
  WARN("offered " << rate << "/s for " << seconds << " s, Telegram answering in " << delay_ms
                  << " ms: " << messages.size() << " messages in " << took
                  << " s = " << static_cast<double>(total) / took << "/s; publish -> Telegram p50 "
                  << percentile(latencies, 0.5) << " ms, p99 " << percentile(latencies, 0.99) << " ms, max "
                  << percentile(latencies, 1.0) << " ms; RSS " << sender.rss_kib() / 1024 << " MiB");
  CHECK(messages.size() == static_cast<std::size_t>(total));
}
