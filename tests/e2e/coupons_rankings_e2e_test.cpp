// ranking-updater as a process: order.completed and product.sold-out from Kafka into
// rankings served over HTTP, duplicates counted once, a clean stop; a zone PostgreSQL
// does not know stops it at start.
#include <catch2/catch.hpp>

#include <fstream>

#include "contracts/order_completed.hpp"
#include "contracts/product_sold_out.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/producer.hpp"
#include "support/daemon.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

TEST_CASE("ranking-updater turns completed orders and sell-outs into rankings over HTTP") {
  testing::System system;
  testing::Daemon rankings(system, "ranking-updater", {{"PAYPIPE_RANKING_TIME_ZONE", "Asia/Seoul"}});
  rankings.wait_ready();
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());

  // 30 orders: "gold" sells 3 a time, "silver" 2, "bronze" 1, all at 10:00 in Seoul on
  // 2027-01-15 (01:00Z); every fifth order is sent twice.
  std::vector<events::Event> events;
  for (int i = 0; i < 30; ++i) {
    const auto order_id = core::new_uuid_v7();
    const contracts::OrderCompleted order{order_id,
                                          "u" + std::to_string(i),
                                          {{"gold", 3, 100}, {"silver", 2, 100}, {"bronze", 1, 100}},
                                          600,
                                          "KRW",
                                          "WAREHOUSE",
                                          core::new_uuid_v7(),
                                          "2027-01-15T01:00:00Z"};
    events.push_back(events::make_event("order.completed", "/e2e", order_id, contracts::encode(order)));
    if (i % 5 == 0) events.push_back(events.back());
  }
  for (const auto& [product, seconds] : std::vector<std::pair<std::string, int>>{{"slow", 600}, {"fast", 5}}) {
    const contracts::ProductSoldOut sold{
        product, std::nullopt, 10, "2027-01-15T01:00:00Z",
        core::format_rfc3339(*core::parse_rfc3339("2027-01-15T01:00:00Z") + std::chrono::seconds(seconds))};
    events.push_back(events::make_event("product.sold-out", "/e2e", product, contracts::encode(sold)));
  }
  for (const auto& e : events) REQUIRE((*producer)->send_event(e, [](const events::Delivery&) {}).ok());
  REQUIRE((*producer)->flush(20s).ok());

  const auto get = [&](const std::string& path) {
    auto r = rankings.get(path);
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    auto doc = core::json::parse(r->body);
    REQUIRE(doc.ok());
    return std::move(doc).value();
  };
  REQUIRE(testing::eventually(
      [&] {
        auto doc = get("/v1/rankings/products?window=all");
        return doc["items"].Size() == 3 && doc["items"][2]["unitsSold"].GetInt64() == 30;
      },
      30s, 100ms));
  auto all = get("/v1/rankings/products?window=all&limit=2");
  REQUIRE(all["items"].Size() == 2);
  CHECK(std::string(all["items"][0]["productId"].GetString()) == "gold");
  CHECK(all["items"][0]["unitsSold"].GetInt64() == 90);
  CHECK(all["items"][0]["orders"].GetInt64() == 30);
  CHECK(std::string(all["items"][1]["productId"].GetString()) == "silver");

  auto day = get("/v1/rankings/products?window=day&date=2027-01-15");
  REQUIRE(day["items"].Size() == 3);
  CHECK(std::string(day["timeZone"].GetString()) == "Asia/Seoul");
  CHECK(day["items"][0]["unitsSold"].GetInt64() == 90);
  CHECK(get("/v1/rankings/products?window=day&date=2027-01-14")["items"].Size() == 0);

  REQUIRE(testing::eventually([&] { return get("/v1/rankings/sold-out")["items"].Size() == 2; }, 30s, 100ms));
  auto sold_out = get("/v1/rankings/sold-out");
  CHECK(std::string(sold_out["items"][0]["productId"].GetString()) == "fast");
  CHECK(sold_out["items"][0]["sellOutMs"].GetInt64() == 5000);
  CHECK(std::string(sold_out["items"][1]["productId"].GetString()) == "slow");

  auto bad = rankings.get("/v1/rankings/products?window=week");
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  CHECK(rankings.stop() == 0);
}

TEST_CASE("ranking-updater refuses to start with a time zone PostgreSQL does not know") {
  testing::System system;
  testing::Daemon rankings(system, "ranking-updater", {{"PAYPIPE_RANKING_TIME_ZONE", "Mars/Olympus_Mons"}});
  REQUIRE(testing::eventually([&] { return !rankings.running(); }, 20s));
  std::ifstream log(rankings.log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("Mars/Olympus_Mons") != std::string::npos);
}
