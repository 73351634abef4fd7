// ranking-updater against the real Kafka broker and PostgreSQL: the consumer fed
// through the real consumer runtime (duplicates and redeliveries counted once, days
// bucketed in the configured zone), and the rankings answered through its router.
#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <sstream>

#include "contracts/order_completed.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/product_sold_out.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "ranking_updater/http_api.hpp"
#include "ranking_updater/ranking_consumer.hpp"
#include "ranking_updater/ranking_store.hpp"
#include "ranking_updater/schema.hpp"
#include "runtime/daemon.hpp"
#include "support/fresh_schema.hpp"
#include "support/stack.hpp"
#include "support/statements.hpp"

using namespace paypipe;
using namespace paypipe::ranking_updater;
using namespace std::chrono_literals;

namespace {

// Records the runtime finished for a group, from the process's metrics.
double records_finished(const std::string& group) {
  std::istringstream text(core::metrics::serialize());
  double total = 0;
  for (std::string line; std::getline(text, line);) {
    if (line.rfind("consumer_records_total{", 0) == 0 && line.find("group=\"" + group + "\"") != std::string::npos) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

struct RankingsFixture : testing::FreshSchema {
  pg::Pool pool{pg::PoolOptions{testing::pg_options(schema), 4, 5000ms}};
  events::KafkaOptions kafka = testing::kafka_options(testing::unique_name("rankings") + ".");
  std::string group = testing::unique_name("ranking-updater");
  std::unique_ptr<events::Producer> producer;
  RankingConsumer rankings{pool, "Asia/Seoul"};
  RankingApi api{pool, "Asia/Seoul"};
  http::Router router;

  RankingsFixture() : FreshSchema("rankings", runtime::with_event_tables(schema::embedded_files())) {
    REQUIRE(check_time_zone(connection, "Asia/Seoul").ok());
    testing::create_topics(kafka, {"order.completed", "order.refunded", "product.sold-out", "dlq." + group});
    auto p = events::Producer::create(kafka);
    REQUIRE(p.ok());
    producer = std::move(p).value();
    api.add_routes(router);
  }

  void publish(const std::vector<events::Event>& events) {
    std::atomic<int> failed{0};
    for (const auto& e : events) {
      REQUIRE(producer->send_event(e, [&failed](const events::Delivery& d) { failed += d.status ? 0 : 1; }).ok());
    }
    REQUIRE(producer->flush(30s).ok());
    REQUIRE(failed == 0);
  }

  // Consumes until `records` more records are finished, then stops.
  void consume(std::size_t records) {
    const double before = records_finished(group);
    consume_until([&] { return records_finished(group) - before >= static_cast<double>(records); });
  }

  // Consumes until `distinct` event ids in all were processed (redelivered records of an
  // earlier run, whose offsets it may not have committed, do not count), then stops.
  void consume_events(std::int64_t distinct) {
    consume_until([&] { return count("SELECT count(*) FROM processed_events") >= distinct; });
  }

  void consume_until(const std::function<bool()>& done) {
    events::RuntimeSettings settings;
    settings.consumer.group = group;
    settings.consumer.topics = {"order.completed", "order.refunded", "product.sold-out"};
    settings.subscribe_retry_topic = false;
    settings.batch_size = 1000;
    settings.retry = events::RetryPolicy::none();
    settings.component = "ranking-updater";
    auto runtime = events::ConsumerRuntime::batch(kafka, settings, *producer, rankings.handler());
    REQUIRE(runtime.ok());
    REQUIRE((*runtime)->start().ok());
    REQUIRE(testing::eventually(done, 60s, 50ms));
    (*runtime)->stop();
  }

  std::int64_t count(const std::string& sql) { return testing::query_integer(connection, sql); }

  core::json::Document get(const std::string& path, const std::map<std::string, std::string>& query = {}) {
    const auto match = router.match("GET", path);
    REQUIRE(match.route != nullptr);
    http::Request request;
    request.method = "GET";
    request.path = path;
    request.query = query;
    const auto response = match.route->handler(request);
    REQUIRE(response.status == 200);
    auto doc = core::json::parse(response.body);
    REQUIRE(doc.ok());
    return std::move(doc).value();
  }
};

events::Event completed(const std::string& order_id, std::vector<contracts::OrderItem> items, const std::string& at) {
  std::int64_t total = 0;
  for (const auto& i : items) total += i.quantity * i.unit_price;
  const contracts::OrderCompleted data{order_id, "user",     std::move(items),    total,
                                       "KRW",    "SHIPPING", core::new_uuid_v7(), at};
  return events::make_event("order.completed", "/test", order_id, contracts::encode(data));
}

events::Event sold_out(const std::string& product, const std::string& opens, const std::string& sold,
                       std::optional<std::string> event_date = std::nullopt) {
  const contracts::ProductSoldOut data{product, "Product " + product, 100, opens, sold, std::move(event_date)};
  return events::make_event("product.sold-out", "/test", product, contracts::encode(data));
}

events::Event refunded(const std::string& order_id, std::vector<contracts::OrderItem> items) {
  std::int64_t total = 0;
  for (const auto& i : items) total += i.quantity * i.unit_price;
  const contracts::OrderRefunded data{
      order_id, "user", std::move(items), total, "KRW", core::new_uuid_v7(), "USER_REQUESTED", "2027-01-16T10:00:00Z"};
  return events::make_event(std::string(contracts::OrderRefunded::type), "/test", order_id, contracts::encode(data));
}

// unitsSold of `product` in a ranking's items; 0 when it is not listed.
std::int64_t units_of(const core::json::Document& ranking, const std::string& product) {
  for (const auto& item : ranking["items"].GetArray()) {
    if (product == item["productId"].GetString()) return item["unitsSold"].GetInt64();
  }
  return 0;
}

}  // namespace

TEST_CASE("10,000 order.completed with duplicates mixed in count each distinct event once, on its local day") {
  RankingsFixture f;
  std::mt19937 rng(20270115);
  // Around midnight in Seoul (UTC+9): 14:59:59Z is still the 14th there, 15:00:00Z the 15th.
  const std::vector<std::pair<std::string, std::string>> instants{{"2027-01-14T14:59:59.999Z", "2027-01-14"},
                                                                  {"2027-01-14T15:00:00.000Z", "2027-01-15"},
                                                                  {"2027-01-15T09:30:00+09:00", "2027-01-15"}};
  std::map<std::string, std::int64_t> units, orders, revenue;
  std::map<std::pair<std::string, std::string>, std::int64_t> daily_units;
  std::vector<events::Event> distinct, all;
  for (int i = 0; i < 9'000; ++i) {
    const auto& [at, day] = instants[rng() % instants.size()];
    std::vector<contracts::OrderItem> items;
    std::set<std::string> products;
    for (unsigned n = 0, lines = 1 + rng() % 3; n < lines; ++n) {
      const auto product = "p" + std::to_string(rng() % 40);
      const auto quantity = static_cast<std::int64_t>(1 + rng() % 4);
      items.push_back({product, quantity, 1000});
      units[product] += quantity;
      revenue[product] += quantity * 1000;
      daily_units[{day, product}] += quantity;
      products.insert(product);
    }
    for (const auto& p : products) ++orders[p];
    distinct.push_back(completed(core::new_uuid_v7(), items, at));
  }
  // 1,000 duplicates (same event id, as a producer retry or a replay would send):
  // some right behind their original (the same batch), some far later.
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    all.push_back(distinct[i]);
    if (i % 18 == 0) all.push_back(distinct[i]);
  }
  for (std::size_t i = 0; all.size() < 10'000; i += 17) all.push_back(distinct[i % distinct.size()]);
  REQUIRE(all.size() == 10'000);
  f.publish(all);
  f.consume(all.size());

  CHECK(f.count("SELECT count(*) FROM processed_events WHERE consumer = 'ranking-updater'") == 9'000);
  std::int64_t mismatches = 0;
  for (const auto& [product, expected] : units) {
    auto row = f.connection.exec("SELECT units, orders, revenue FROM product_sales WHERE product_id = $1", product);
    REQUIRE(row.ok());
    REQUIRE(row->size() == 1);
    if (row->integer(0, 0) != expected || row->integer(0, 1) != orders[product] ||
        row->integer(0, 2) != revenue[product]) {
      ++mismatches;
    }
  }
  CHECK(mismatches == 0);
  CHECK(f.count("SELECT count(*) FROM product_sales") == static_cast<std::int64_t>(units.size()));
  for (const auto& [key, expected] : daily_units) {
    INFO(key.first << " " << key.second);
    CHECK(f.count("SELECT units FROM product_sales_daily WHERE day = '" + key.first + "' AND product_id = '" +
                  key.second + "'") == expected);
  }
  CHECK(f.count("SELECT count(*) FROM product_sales_daily") == static_cast<std::int64_t>(daily_units.size()));

  // The rankings answer from these counters, in the ranking order.
  auto all_time = f.get("/v1/rankings/products", {{"window", "all"}, {"limit", "100"}});
  const auto& items = all_time["items"];
  REQUIRE(items.Size() == units.size());
  for (rapidjson::SizeType i = 1; i < items.Size(); ++i) {
    const auto prev = items[i - 1]["unitsSold"].GetInt64(), cur = items[i]["unitsSold"].GetInt64();
    CHECK(prev >= cur);
    CHECK(items[i]["rank"].GetInt() == (prev == cur ? items[i - 1]["rank"].GetInt() : static_cast<int>(i) + 1));
  }
  CHECK(items[0]["unitsSold"].GetInt64() ==
        std::max_element(units.begin(), units.end(), [](auto& a, auto& b) { return a.second < b.second; })->second);
  auto day = f.get("/v1/rankings/products", {{"window", "day"}, {"date", "2027-01-14"}, {"limit", "3"}});
  CHECK(std::string(day["date"].GetString()) == "2027-01-14");
  REQUIRE(day["items"].Size() == 3);
  const std::string top(day["items"][0]["productId"].GetString());
  CHECK(day["items"][0]["unitsSold"].GetInt64() == daily_units[{"2027-01-14", top}]);
}

TEST_CASE("the sold-out ranking lists the fastest sell-outs first, each sale once") {
  RankingsFixture f;
  const auto twice = sold_out("slow-then-fast", "2027-01-15T10:00:00Z", "2027-01-15T10:30:00Z");
  f.publish({
      sold_out("ten-minutes", "2027-01-15T10:00:00Z", "2027-01-15T10:10:00Z"),
      sold_out("one-minute", "2027-01-15T12:00:00+09:00", "2027-01-15T12:01:00+09:00"), twice,
      sold_out("ten-minutes-later", "2027-01-15T11:00:00Z", "2027-01-15T11:10:00Z"),
      sold_out("slow-then-fast", "2027-01-15T10:00:00Z", "2027-01-15T10:05:00Z"),  // a correction: earlier sell-out
      twice,                                                                          // redelivered
      sold_out("one-minute", "2027-01-16T12:00:00Z", "2027-01-16T12:30:00Z"),      // its next sale, another row
  });
  f.consume(7);
  CHECK(f.count("SELECT count(*) FROM sold_out_sales") == 5);
  auto ranking = f.get("/v1/rankings/sold-out");
  const auto& items = ranking["items"];
  REQUIRE(items.Size() == 5);
  const std::vector<std::tuple<int, std::string, std::int64_t>> expected{
      {1, "one-minute", 60'000},         {2, "slow-then-fast", 300'000}, {3, "ten-minutes", 600'000},
      {3, "ten-minutes-later", 600'000}, {5, "one-minute", 1'800'000},
  };
  for (rapidjson::SizeType i = 0; i < items.Size(); ++i) {
    const auto& [rank, product, ms] = expected[i];
    INFO(i);
    CHECK(items[i]["rank"].GetInt() == rank);
    CHECK(std::string(items[i]["productId"].GetString()) == product);
    CHECK(items[i]["sellOutMs"].GetInt64() == ms);
  }
  CHECK(f.get("/v1/rankings/sold-out", {{"limit", "2"}})["items"].Size() == 2);
}

TEST_CASE("a day without sales answers an empty ranking for that day, and a bad query is refused") {
  RankingsFixture f;
  auto empty = f.get("/v1/rankings/products", {{"date", "2027-01-01"}});
  CHECK(std::string(empty["date"].GetString()) == "2027-01-01");
  CHECK(empty["items"].Size() == 0);
  auto today = f.get("/v1/rankings/products");
  CHECK(std::string(today["date"].GetString()).size() == 10);
  const auto match = f.router.match("GET", "/v1/rankings/products");
  http::Request bad;
  bad.query = {{"window", "week"}};
  CHECK(match.route->handler(bad).status == 400);
  CHECK_FALSE(check_time_zone(f.connection, "Mars/Olympus_Mons").ok());
}

TEST_CASE("a refund takes its order's sales off once, even delivered twice, and a refund read first keeps it out") {
  RankingsFixture f;
  const auto a = core::new_uuid_v7(), b = core::new_uuid_v7(), c = core::new_uuid_v7();
  const std::vector<contracts::OrderItem> gig_a{{"gig", 2, 1000, std::nullopt, std::string("2026-12-24")},
                                                {"tee", 1, 500}};
  const std::vector<contracts::OrderItem> gig_b{{"gig", 3, 1000, std::nullopt, std::string("2026-12-24")}};
  const std::vector<contracts::OrderItem> gig_c{{"gig", 4, 1000, std::nullopt, std::string("2026-12-24")}};
  // Completed at 2027-01-15 10:00 KST. Order c's refund is read before its completion.
  f.publish(
      {completed(a, gig_a, "2027-01-15T01:00:00Z"), completed(b, gig_b, "2027-01-15T01:00:00Z"), refunded(c, gig_c)});
  f.consume_events(3);
  CHECK(units_of(f.get("/v1/rankings/products", {{"window", "all"}}), "gig") == 5);

  const auto refund_a = refunded(a, gig_a);
  // The refund delivered twice (one event id) and published twice (two ids); c's and a's
  // completions again.
  f.publish({refund_a, refund_a, refunded(a, gig_a), completed(c, gig_c, "2027-01-15T01:00:00Z"),
             completed(a, gig_a, "2027-01-15T01:00:00Z")});
  f.consume_events(3 + 4);
  const auto all_time = f.get("/v1/rankings/products", {{"window", "all"}});
  CHECK(units_of(all_time, "gig") == 3);  // b only: a refunded once, c never counted
  CHECK(units_of(all_time, "tee") == 0);  // all its sales refunded: not listed
  CHECK(all_time["items"].Size() == 1);
  // The day the refunded order was counted on loses it too, and so does its event date.
  CHECK(units_of(f.get("/v1/rankings/products", {{"date", "2027-01-15"}}), "gig") == 3);
  const auto by_event = f.get("/v1/rankings/sales", {{"date", "2026-12-24"}});
  CHECK(std::string(by_event["eventDate"].GetString()) == "2026-12-24");
  CHECK(units_of(by_event, "gig") == 3);
  CHECK(f.count("SELECT orders FROM product_sales WHERE product_id = 'gig'") == 1);
  CHECK(f.count("SELECT revenue FROM product_sales WHERE product_id = 'gig'") == 3000);
  CHECK(f.count("SELECT count(*) FROM ranked_orders WHERE state = 'REFUNDED'") == 2);
}

TEST_CASE("sales and sold-out rankings per event date list only that date's products") {
  RankingsFixture f;
  f.publish({
      completed(core::new_uuid_v7(), {{"xmas", 5, 100, std::nullopt, std::string("2026-12-24")}},
                "2026-12-01T01:00:00Z"),
      completed(core::new_uuid_v7(), {{"nye", 7, 100, std::nullopt, std::string("2026-12-31")}, {"tee", 9, 10}},
                "2026-12-01T01:00:00Z"),
      completed(core::new_uuid_v7(), {{"xmas-late", 2, 100, std::nullopt, std::string("2026-12-24")}},
                "2026-12-02T01:00:00Z"),
      sold_out("xmas", "2026-12-01T00:00:00Z", "2026-12-01T00:01:00Z", std::string("2026-12-24")),
      sold_out("nye", "2026-12-01T00:00:00Z", "2026-12-01T00:00:30Z", std::string("2026-12-31")),
      sold_out("tee", "2026-12-01T00:00:00Z", "2026-12-01T00:00:10Z"),
  });
  f.consume_events(6);
  const auto xmas = f.get("/v1/rankings/sales", {{"date", "2026-12-24"}});
  REQUIRE(xmas["items"].Size() == 2);
  CHECK(std::string(xmas["items"][0]["productId"].GetString()) == "xmas");
  CHECK(std::string(xmas["items"][1]["productId"].GetString()) == "xmas-late");
  CHECK(f.get("/v1/rankings/sales")["items"].Size() == 4);  // all time, every product
  CHECK(f.get("/v1/rankings/sales", {{"date", "2027-01-01"}})["items"].Size() == 0);

  const auto sold_xmas = f.get("/v1/rankings/sold-out", {{"date", "2026-12-24"}});
  REQUIRE(sold_xmas["items"].Size() == 1);
  CHECK(std::string(sold_xmas["items"][0]["productId"].GetString()) == "xmas");
  CHECK(std::string(sold_xmas["items"][0]["eventDate"].GetString()) == "2026-12-24");
  const auto sold_all = f.get("/v1/rankings/sold-out");
  REQUIRE(sold_all["items"].Size() == 3);
  CHECK(std::string(sold_all["items"][0]["productId"].GetString()) == "tee");

  const auto match = f.router.match("GET", "/v1/rankings/sales");
  http::Request bad;
  bad.query = {{"date", "2026-02-30"}};
  CHECK(match.route->handler(bad).status == 400);
}

TEST_CASE("a batch costs the same statements whatever its size") {
  RankingsFixture f;
  pg::Pool one{pg::PoolOptions{testing::pg_options(f.schema), 1, 30000ms}};
  RankingConsumer rankings{one, "Asia/Seoul"};
  // Every batch counts an order of a product of its own and refunds the one the batch
  // before counted: sales added and taken off in every batch.
  int batches = 0;
  std::pair<std::string, std::string> refundable;  // order id, product
  const auto batch_of = [&](std::size_t n) {
    std::vector<events::Event> published;
    for (std::size_t i = 0; i < n; ++i) {
      published.push_back(
          completed(core::new_uuid_v7(), {{"p" + std::to_string(i % 7), 1, 100}}, "2027-01-15T10:00:00Z"));
    }
    if (!refundable.first.empty()) published.push_back(refunded(refundable.first, {{refundable.second, 1, 100}}));
    refundable = {core::new_uuid_v7(), "r" + std::to_string(++batches)};
    published.push_back(completed(refundable.first, {{refundable.second, 1, 100}}, "2027-01-15T10:00:00Z"));
    published.push_back(sold_out("p" + std::to_string(n), "2027-01-15T09:00:00Z", "2027-01-15T09:00:01Z"));
    std::vector<events::ConsumedEvent> batch;
    for (auto& e : published) batch.push_back(events::ConsumedEvent{std::move(e), "order.completed", 0, 0, 1});
    return batch;
  };
  const auto statements = [&](const std::vector<events::ConsumedEvent>& batch) {
    return testing::statements_sent(one, [&] {
      for (const auto& outcome : rankings.handle(batch)) REQUIRE(outcome.succeeded());
    });
  };
  (void)statements(batch_of(2));  // the orders the next batches refund
  const auto two = statements(batch_of(2));
  const auto fifty = statements(batch_of(50));
  CHECK(fifty == two);
  // BEGIN, the processed-event marks, the local days, the orders' tallies inserted and
  // locked, the counters added (all time, per day) and taken off (all time, per day),
  // the tallies saved, the sold-out sales, COMMIT.
  CHECK(two == 12);
}
