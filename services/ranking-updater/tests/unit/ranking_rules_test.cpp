#include "ranking_updater/ranking_rules.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::ranking_updater;
using namespace std::chrono_literals;

namespace {

contracts::OrderCompleted order(std::vector<contracts::OrderItem> items) {
  contracts::OrderCompleted o;
  o.items = std::move(items);
  return o;
}

SoldOutSale sale(const std::string& product, std::int64_t opens_ms, std::int64_t sold_ms) {
  return SoldOutSale{product, std::nullopt, 10, core::from_unix_ms(opens_ms), core::from_unix_ms(sold_ms)};
}

}  // namespace

TEST_CASE("an order adds its units and revenue per product, and counts once per product") {
  const auto sales = order_sales(order({{"tee", 2, 1000}, {"cap", 1, 500}, {"tee", 3, 900}}).items);
  REQUIRE(sales.size() == 2);
  CHECK(sales.at("tee") == SalesDelta{5, 1, 2 * 1000 + 3 * 900});
  CHECK(sales.at("cap") == SalesDelta{1, 1, 500});
}

TEST_CASE("a batch adds up per product for all time and per product per local day") {
  const auto a = order({{"tee", 1, 100}});
  const auto b = order({{"tee", 2, 100}, {"cap", 1, 50}});
  const auto c = order({{"tee", 4, 100}});
  // The days come from the zone conversion of each completedAt: b and c completed on
  // the same local day, a on the day before.
  const std::vector<DatedOrder> batch{{&a.items, "2027-01-14"}, {&b.items, "2027-01-15"}, {&c.items, "2027-01-15"}};
  const auto deltas = aggregate(batch);
  CHECK(deltas.all_time.at("tee") == SalesDelta{7, 3, 700});
  CHECK(deltas.all_time.at("cap") == SalesDelta{1, 1, 50});
  REQUIRE(deltas.daily.size() == 3);
  CHECK(deltas.daily.at({"2027-01-14", "tee"}) == SalesDelta{1, 1, 100});
  CHECK(deltas.daily.at({"2027-01-15", "tee"}) == SalesDelta{6, 2, 600});
  CHECK(deltas.daily.at({"2027-01-15", "cap"}) == SalesDelta{1, 1, 50});
  CHECK(aggregate({}).all_time.empty());
  CHECK(deltas.by_event.empty());  // no product of these is a dated ticket
}

TEST_CASE("lines of dated products also count under their event date; a refund's lines count negatively") {
  const auto a = order({{"gig", 2, 100, std::nullopt, std::string("2026-12-24")}, {"tee", 1, 50}});
  const auto b = order({{"gig", 1, 100, std::nullopt, std::string("2026-12-24")},
                        {"eve", 3, 10, std::nullopt, std::string("2026-12-31")}});
  const std::vector<DatedOrder> batch{{&a.items, "2026-12-01"}, {&b.items, "2026-12-02"}, {&a.items, "2026-12-01", -1}};
  const auto deltas = aggregate(batch);
  CHECK(deltas.by_event.size() == 2);
  CHECK(deltas.by_event.at({"2026-12-24", "gig"}) == SalesDelta{1, 1, 100});
  CHECK(deltas.by_event.at({"2026-12-31", "eve"}) == SalesDelta{3, 1, 30});
  CHECK(deltas.all_time.at("gig") == SalesDelta{1, 1, 100});
  CHECK(deltas.all_time.at("tee") == SalesDelta{0, 0, 0});  // counted and refunded: nothing left
  CHECK(deltas.daily.at({"2026-12-01", "gig"}) == SalesDelta{0, 0, 0});
}

namespace {

OrderChange completed(const std::string& id, const contracts::OrderCompleted& o, const std::string& day) {
  return OrderChange{id, false, &o.items, day};
}
OrderChange refunded(const std::string& id, const contracts::OrderCompleted& o) {
  return OrderChange{id, true, &o.items, {}};
}

}  // namespace

TEST_CASE("a refund subtracts what its order's completion added, on the day it was counted, once") {
  const auto o = order({{"tee", 2, 100}});
  std::map<std::string, TallyState> known;
  const std::vector<OrderChange> first{completed("o1", o, "2027-01-14")};
  auto counted = tally_orders(first, known);
  REQUIRE(counted.size() == 1);
  CHECK(counted[0].sign == 1);
  CHECK(known.at("o1") == TallyState{Tally::counted, "2027-01-14"});

  // The refund, delivered twice (two event ids for one refund are still one refund).
  const std::vector<OrderChange> refunds{refunded("o1", o), refunded("o1", o)};
  counted = tally_orders(refunds, known);
  REQUIRE(counted.size() == 1);
  CHECK(counted[0].sign == -1);
  CHECK(counted[0].day == "2027-01-14");  // the day it was counted on, not the refund's
  CHECK(known.at("o1").tally == Tally::refunded);

  // A completion read again after the refund never counts again.
  CHECK(tally_orders(first, known).empty());
}

TEST_CASE("a refund read before its completion keeps the completion from ever counting") {
  const auto o = order({{"tee", 1, 100}});
  std::map<std::string, TallyState> known;
  const std::vector<OrderChange> batch{refunded("o2", o), completed("o2", o, "2027-01-15")};
  CHECK(tally_orders(batch, known).empty());
  CHECK(known.at("o2").tally == Tally::refunded);
  // A late payment's refund (never completed) likewise counts nothing.
  const std::vector<OrderChange> late{refunded("o3", o)};
  CHECK(tally_orders(late, known).empty());
}

TEST_CASE("a completion and its refund in one batch leave nothing counted") {
  const auto o = order({{"tee", 3, 100}});
  std::map<std::string, TallyState> known;
  const std::vector<OrderChange> batch{completed("o4", o, "2027-01-15"), completed("o4", o, "2027-01-15"),
                                       refunded("o4", o)};
  const auto counted = tally_orders(batch, known);
  REQUIRE(counted.size() == 2);
  CHECK(aggregate(counted).all_time.at("tee") == SalesDelta{0, 0, 0});
}

TEST_CASE("the event date query: an optional calendar date and a bounded limit") {
  CHECK_FALSE(parse_event_date_query({}).value().date.has_value());
  CHECK(parse_event_date_query({{"date", "2026-12-24"}}).value().date == "2026-12-24");
  CHECK(parse_event_date_query({{"date", "2026-12-24"}, {"limit", "3"}}).value().limit == 3);
  CHECK(parse_event_date_query({{"date", "2026-02-30"}}).error().code == "bad-date");
  CHECK_FALSE(parse_event_date_query({{"limit", "0"}}).ok());
}

TEST_CASE("the sales ranking: more units first, ties share a rank and are listed by product id") {
  const auto ranked = rank_sales({{"b", 5, 5, 0}, {"a", 9, 1, 0}, {"d", 5, 1, 999}, {"c", 5, 2, 0}, {"e", 1, 1, 0}});
  REQUIRE(ranked.size() == 5);
  const std::vector<std::pair<int, std::string>> expected{{1, "a"}, {2, "b"}, {2, "c"}, {2, "d"}, {5, "e"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(ranked[i].rank == expected[i].first);
    CHECK(ranked[i].entry.product_id == expected[i].second);
  }
  // Bytewise ids, as COLLATE "C" in the tables: upper case before lower case.
  CHECK(sells_before({"Z", 1, 1, 0}, {"a", 1, 1, 0}));
  CHECK(rank_sales({}).empty());
}

TEST_CASE("the sold-out ranking: fastest sell-out first, ties by earlier sell-out then id") {
  const auto ranked = rank_sold_out({
      sale("slow", 0, 60'000), sale("fast", 1'000, 2'000),          // 1 s
      sale("tie-late", 50'000, 55'000),    // 5 s, sold out later
      sale("tie-early", 10'000, 15'000),   // 5 s
      sale("tie-early-b", 10'000, 15'000), // 5 s, same instant: by id
      sale("backwards", 9'000, 8'000),     // stamped before opening: counts as 0
  });
  const std::vector<std::pair<int, std::string>> expected{{1, "backwards"},   {2, "fast"},     {3, "tie-early"},
                                                          {3, "tie-early-b"}, {3, "tie-late"}, {6, "slow"}};
  REQUIRE(ranked.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(ranked[i].rank == expected[i].first);
    CHECK(ranked[i].sale.product_id == expected[i].second);
  }
  CHECK(sell_out_ms(sale("x", 1'000, 61'000)) == 60'000);
  CHECK(sell_out_ms(sale("x", 9'000, 8'000)) == 0);
}

TEST_CASE("a sale reported sold out twice keeps its earliest sell-out; another opening is another sale") {
  const std::vector<SoldOutSale> reports{sale("tee", 0, 9'000), sale("tee", 0, 7'000), sale("tee", 100'000, 101'000),
                                         sale("cap", 0, 5'000)};
  const auto merged = merge_sold_out(reports);
  REQUIRE(merged.size() == 3);
  CHECK(merged[0].product_id == "cap");
  CHECK(merged[1].product_id == "tee");
  CHECK(sell_out_ms(merged[1]) == 7'000);
  CHECK(sell_out_ms(merged[2]) == 1'000);
}

TEST_CASE("dates are real calendar days") {
  CHECK(valid_date("2027-01-15"));
  CHECK(valid_date("2024-02-29"));
  CHECK(valid_date("2000-02-29"));
  CHECK_FALSE(valid_date("1900-02-29"));
  CHECK_FALSE(valid_date("2027-02-29"));
  CHECK_FALSE(valid_date("2027-04-31"));
  CHECK_FALSE(valid_date("2027-13-01"));
  CHECK_FALSE(valid_date("2027-1-15"));
  CHECK_FALSE(valid_date("2027-01-15T00:00:00Z"));
  CHECK_FALSE(valid_date("abcd-ef-gh"));
}

TEST_CASE("the products query: window day (default) or all, a date for days only, a bounded limit") {
  auto def = parse_products_query({});
  REQUIRE(def.ok());
  CHECK(def->window == ProductsQuery::Window::day);
  CHECK_FALSE(def->date);
  CHECK(def->limit == 10);

  auto day = parse_products_query({{"window", "day"}, {"date", "2027-01-15"}, {"limit", "3"}});
  REQUIRE(day.ok());
  CHECK(*day->date == "2027-01-15");
  CHECK(day->limit == 3);

  auto all = parse_products_query({{"window", "all"}, {"limit", "100"}});
  REQUIRE(all.ok());
  CHECK(all->window == ProductsQuery::Window::all);

  CHECK_FALSE(parse_products_query({{"window", "week"}}).ok());
  CHECK_FALSE(parse_products_query({{"window", "all"}, {"date", "2027-01-15"}}).ok());
  CHECK_FALSE(parse_products_query({{"date", "2027-02-30"}}).ok());
  for (const char* bad : {"0", "101", "-3", "ten", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_limit({{"limit", bad}}).ok());
  }
}
