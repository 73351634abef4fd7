#pragma once
// ranking-updater's SQL: the batch writes (inside the caller's transaction) and the
// ranking reads, each answered by an index in ranking order (migrations/001_rankings.sql).

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pg/pg.hpp"
#include "ranking_updater/ranking_rules.hpp"

namespace paypipe::ranking_updater {

// Fails (invalid_input) if PostgreSQL does not know `zone`.
core::Status check_time_zone(pg::Connection& connection, const std::string& zone);

// The calendar day (YYYY-MM-DD) in `zone` of each RFC 3339 instant, in order: one
// statement for a whole batch.
core::Result<std::vector<std::string>> local_days(pg::Transaction& tx, const std::vector<std::string>& instants,
                                                  const std::string& zone);

// Takes the ranked_orders rows of `order_ids` until the end of `tx` (inserted if
// missing, then locked in id order, so replicas never deadlock nor count an order
// twice) and returns where each stands; an order never seen is absent.
core::Result<std::map<std::string, TallyState>> take_tallies(pg::Transaction& tx, std::vector<std::string> order_ids);
// Writes back where the orders of take_tallies stand now.
core::Status save_tallies(pg::Transaction& tx, const std::map<std::string, TallyState>& tallies);

// Adds the deltas (negative for refunds) to the counters: one upsert each for all time,
// the days and the event dates, rows taken in key order so concurrent replicas never
// deadlock. A delta of zero (counted and refunded in one batch) writes nothing.
core::Status add_sales(pg::Transaction& tx, const SalesDeltas& deltas);
// Records sold-out sales (already merged); a sale already recorded keeps the earlier sell-out.
core::Status record_sold_out(pg::Transaction& tx, std::span<const SoldOutSale> sales);

struct DaySales {
  std::string day;  // the day answered (the given one, or today in the zone)
  std::vector<SalesEntry> entries;
};
core::Result<std::vector<SalesEntry>> top_sales_all_time(pg::Connection& connection, int limit);
core::Result<DaySales> top_sales_of_day(pg::Connection& connection, const std::optional<std::string>& day,
                                        const std::string& zone, int limit);
// Products with units sold (refunds taken off); the ones of one event date when `event_date` is set.
core::Result<std::vector<SalesEntry>> top_sales_of_event_date(pg::Connection& connection, const std::string& event_date,
                                                              int limit);
// Every sale that sold out, or those of one event date.
core::Result<std::vector<SoldOutSale>> fastest_sold_out(pg::Connection& connection,
                                                        const std::optional<std::string>& event_date, int limit);

}  // namespace paypipe::ranking_updater
