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
//     earliest sell-out (a refund that puts units back on sale lets a product sell out
//     again: the sale keeps its first sell-out);
//   * event dates: a line of a product that is a ticket for a dated event also counts
//     under that date (sales per event date), and a sold-out sale carries its product's
//     event date (sold-out ranking per event date);
//   * refunds: a ranking never counts a refunded order. Each order is tallied once
//     (tally_orders): its completion adds, its refund subtracts what the completion
//     added, once, and a refund read before its completion (they come on two topics)
//     keeps that completion from ever counting.
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
std::map<std::string, SalesDelta> order_sales(const std::vector<contracts::OrderItem>& items);

// An order's lines counted in (sign 1) or, for its refund, out (sign -1) of the rankings.
struct DatedOrder {
  const std::vector<contracts::OrderItem>* items;
  std::string day;  // YYYY-MM-DD of completedAt in the ranking time zone
  int sign = 1;
};

using DayProduct = std::pair<std::string, std::string>;  // (YYYY-MM-DD, product id)

struct SalesDeltas {
  std::map<std::string, SalesDelta> all_time;  // by product id
  std::map<DayProduct, SalesDelta> daily;      // by (day of completion, product id)
  std::map<DayProduct, SalesDelta> by_event;   // by (event date, product id): dated products only
};

// Adds a batch of orders up, so each counter row is written once per batch.
SalesDeltas aggregate(std::span<const DatedOrder> orders);

// Where an order stands in the rankings, as ranking-updater remembers it.
enum class Tally {
  unseen,    // neither its completion nor its refund was read
  counted,   // its completion is in the counters, on `day`
  refunded,  // its refund was read: it is not (or no longer) in the counters
};
struct TallyState {
  Tally tally = Tally::unseen;
  std::string day;  // counted: the day its completion was counted on

  bool operator==(const TallyState&) const = default;
};

// An order event of a batch, in batch order.
struct OrderChange {
  std::string order_id;
  bool refund = false;                                    // order.refunded; else order.completed
  const std::vector<contracts::OrderItem>* items = nullptr;
  std::string day;                                        // completion: its local day
};

// Decides a batch of order changes one after another against `known` (by order id;
// missing = unseen), which each decision updates: a completion of an unseen order is
// counted; a refund of a counted order is subtracted on the day it was counted; a
// refund of an unseen order only marks it refunded; anything else (a duplicate, a
// completion after its refund) changes nothing. Returns what to add to the counters.
std::vector<DatedOrder> tally_orders(std::span<const OrderChange> changes, std::map<std::string, TallyState>& known);

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
  std::optional<std::string> event_date{};  // YYYY-MM-DD
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

// GET /v1/rankings/sales and /v1/rankings/sold-out: ?date=YYYY-MM-DD (an event date;
// absent = all time) and ?limit=.
struct EventDateQuery {
  std::optional<std::string> date;
  int limit = 10;
};
core::Result<EventDateQuery> parse_event_date_query(const std::map<std::string, std::string>& query);

// A real calendar date written YYYY-MM-DD (leap years included).
bool valid_date(std::string_view text);

}  // namespace paypipe::ranking_updater
