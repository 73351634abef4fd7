#include "ranking_updater/http_codecs.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"

using namespace paypipe;
using namespace paypipe::ranking_updater;

TEST_CASE("the products ranking names its window, day and zone, and every item's rank") {
  ProductsQuery query;
  const auto text = products_json(query, std::string("2027-01-15"), "Asia/Seoul",
                                  rank_sales({{"a", 3, 2, 300}, {"b", 3, 1, 100}, {"c", 1, 1, 10}}));
  auto doc = core::json::parse(text);
  REQUIRE(doc.ok());
  CHECK(std::string((*doc)["window"].GetString()) == "day");
  CHECK(std::string((*doc)["date"].GetString()) == "2027-01-15");
  CHECK(std::string((*doc)["timeZone"].GetString()) == "Asia/Seoul");
  const auto& items = (*doc)["items"];
  REQUIRE(items.Size() == 3);
  CHECK(items[1]["rank"].GetInt() == 1);
  CHECK(items[2]["rank"].GetInt() == 3);
  CHECK(items[0]["unitsSold"].GetInt64() == 3);
  CHECK(items[0]["revenue"].GetInt64() == 300);

  query.window = ProductsQuery::Window::all;
  auto all = core::json::parse(products_json(query, std::nullopt, "Asia/Seoul", {}));
  REQUIRE(all.ok());
  CHECK_FALSE(all->HasMember("date"));
  CHECK((*all)["items"].Size() == 0);
}

TEST_CASE("the sold-out ranking carries the time to sell out") {
  const SoldOutSale sale{"tee", "Tee", 100, core::from_unix_ms(1'800'000'000'000),
                         core::from_unix_ms(1'800'000'042'500)};
  auto doc = core::json::parse(sold_out_json(std::nullopt, rank_sold_out({sale})));
  REQUIRE(doc.ok());
  const auto& item = (*doc)["items"][0];
  CHECK(item["rank"].GetInt() == 1);
  CHECK(item["sellOutMs"].GetInt64() == 42'500);
  CHECK(std::string(item["name"].GetString()) == "Tee");
  CHECK(std::string(item["soldOutAt"].GetString()) == "2027-01-15T08:00:42.500Z");
}

TEST_CASE("the rankings of one event date name it, and each sold-out sale its event date") {
  auto sales = core::json::parse(sales_json(std::string("2026-12-24"), rank_sales({{"gig", 3, 2, 300}})));
  REQUIRE(sales.ok());
  CHECK(std::string((*sales)["eventDate"].GetString()) == "2026-12-24");
  CHECK((*sales)["items"][0]["unitsSold"].GetInt64() == 3);
  auto all_time = core::json::parse(sales_json(std::nullopt, {}));
  REQUIRE(all_time.ok());
  CHECK_FALSE(all_time->HasMember("eventDate"));

  const SoldOutSale sale{
      "gig", std::nullopt, 10, core::from_unix_ms(0), core::from_unix_ms(1000), std::string("2026-12-24")};
  auto sold = core::json::parse(sold_out_json(std::string("2026-12-24"), rank_sold_out({sale})));
  REQUIRE(sold.ok());
  CHECK(std::string((*sold)["eventDate"].GetString()) == "2026-12-24");
  CHECK(std::string((*sold)["items"][0]["eventDate"].GetString()) == "2026-12-24");
}
