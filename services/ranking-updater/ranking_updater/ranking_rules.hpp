#pragma once
// The ranking rules, as pure code (tests/unit/ranking_rules_test.cpp):
//
//   * what an order.completed adds to a product: its units (quantities of every line of
//     that product), its revenue (quantity x unit price) and one order;
//   * day bucketing: an order counts on the calendar day, in the configured time zone,
//     of its completion time (completedAt), never of when we happened to read it. The
//     zone arithmetic itself is PostgreSQL's (AT TIME ZONE, with its full tz database;
//     GCC 12's libstdc++ has no <chrono> zones); aggregate() groups by the day it gives;
//   * sales ranking: more units first; equal units share a rank (1, 2, 2, 4) and are
//     listed by product id (bytewise);
//   * sold-out ranking: the shortest time from sale opening to sell-out first (a
//     sell-out stamped before its opening counts as 0); equal times share a rank and
//     are listed by the earlier sell-out, then product id;
//   * one sale (product, opening) that is reported sold out more than once keeps its
//     earliest sell-out.
//
// The SQL that answers the rankings orders by the same keys (ranking_store.cpp), on
// indexes built for them; ranks are then assigned here.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "contracts/order_completed.hpp"
#include "core/error.hpp"
#include "core/time.hpp"

namespace paypipe::ranking_updater {

struct SalesDelta {
  std::int64_t units = 0;
  std::int64_t orders = 0;
  std::int64_t revenue = 0;

  bool operator==(const SalesDelta&) const = default;
};

// Per product id.
std::map<std::string, SalesDelta> order_sales(const contracts::OrderCompleted& order);

struct DatedOrder {
  const contracts::OrderCompleted* order;
  std::string day;  // YYYY-MM-DD of completedAt in the ranking time zone
};

struct SalesDeltas {
  std::map<std::string, SalesDelta> all_time;                     // by product id
  std::map<std::pair<std::string, std::string>, SalesDelta> daily;  // by (day, product id)
};

// Adds a batch of orders up, so each counter row is written once per batch.
SalesDeltas aggregate(std::span<const DatedOrder> orders);

struct SalesEntry {
  std::string product_id;
  std::int64_t units = 0;
  std::int64_t orders = 0;
  std::int64_t revenue = 0;
};

struct RankedSales {
  int rank = 0;
  SalesEntry entry;
};

// True if `a` is listed before `b`.
bool sells_before(const SalesEntry& a, const SalesEntry& b);
std::vector<RankedSales> rank_sales(std::vector<SalesEntry> entries);

struct SoldOutSale {
  std::string product_id;
  std::optional<std::string> name;
  std::int64_t total_stock = 0;
  core::SystemTime sale_opens_at;
  core::SystemTime sold_out_at;
};

std::int64_t sell_out_ms(const SoldOutSale& sale);
bool sold_out_before(const SoldOutSale& a, const SoldOutSale& b);

struct RankedSoldOut {
  int rank = 0;
  SoldOutSale sale;
};
std::vector<RankedSoldOut> rank_sold_out(std::vector<SoldOutSale> sales);

// One entry per (product, opening), with the earliest sell-out reported.
std::vector<SoldOutSale> merge_sold_out(std::span<const SoldOutSale> sales);

// GET /v1/rankings/products?window=day|all&date=YYYY-MM-DD&limit=
struct ProductsQuery {
  enum class Window { day, all };
  Window window = Window::day;
  std::optional<std::string> date;  // window=day; absent = today in the ranking time zone
  int limit = 10;
};
core::Result<ProductsQuery> parse_products_query(const std::map<std::string, std::string>& query);

// ?limit= in [1, 100], 10 when absent.
core::Result<int> parse_limit(const std::map<std::string, std::string>& query);

// A real calendar date written YYYY-MM-DD (leap years included).
bool valid_date(std::string_view text);

}  // namespace paypipe::ranking_updater
