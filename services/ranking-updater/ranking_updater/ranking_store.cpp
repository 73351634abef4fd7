#include "ranking_updater/ranking_store.hpp"

namespace paypipe::ranking_updater {

namespace {

core::Status ok_or(const core::Result<pg::Rows>& rows) {
  if (!rows) return rows.error();
  return {};
}

std::vector<SalesEntry> entries_from(const pg::Rows& rows, int first_column) {
  std::vector<SalesEntry> entries;
  for (int i = 0; i < rows.size(); ++i) {
    if (rows.is_null(i, first_column)) continue;  // a day without sales (LEFT JOIN)
    entries.push_back(SalesEntry{rows.str(i, first_column), rows.integer(i, first_column + 1),
                                 rows.integer(i, first_column + 2), rows.integer(i, first_column + 3)});
  }
  return entries;
}

}  // namespace

core::Status check_time_zone(pg::Connection& connection, const std::string& zone) {
  auto rows = connection.exec("SELECT count(*) FROM pg_timezone_names WHERE name = $1", zone);
  if (!rows) return rows.error();
  if (rows->integer(0, 0) == 0) {
    return core::make_error(core::ErrorCategory::invalid_input, "unknown-time-zone",
                            "PAYPIPE_RANKING_TIME_ZONE: PostgreSQL knows no time zone " + zone);
  }
  return {};
}

core::Result<std::vector<std::string>> local_days(pg::Transaction& tx, const std::vector<std::string>& instants,
                                                  const std::string& zone) {
  auto rows = tx.exec(
      "SELECT to_char(t AT TIME ZONE $2, 'YYYY-MM-DD') FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, n) "
      "ORDER BY n",
      instants, zone);
  if (!rows) return rows.error();
  std::vector<std::string> days;
  days.reserve(instants.size());
  for (int i = 0; i < rows->size(); ++i) days.push_back(rows->str(i, 0));
  return days;
}

core::Status add_sales(pg::Transaction& tx, const SalesDeltas& deltas) {
  if (deltas.all_time.empty()) return {};
  std::vector<std::string> product, units, orders, revenue;
  for (const auto& [id, d] : deltas.all_time) {
    product.push_back(id);
    units.push_back(std::to_string(d.units));
    orders.push_back(std::to_string(d.orders));
    revenue.push_back(std::to_string(d.revenue));
  }
  if (auto s = ok_or(tx.exec(
          "INSERT INTO product_sales (product_id, units, orders, revenue) "
          "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) ORDER BY 1 "
          "ON CONFLICT (product_id) DO UPDATE SET units = product_sales.units + EXCLUDED.units, "
          "orders = product_sales.orders + EXCLUDED.orders, revenue = product_sales.revenue + EXCLUDED.revenue, "
          "updated_at = now()",
          product, units, orders, revenue));
      !s) {
    return s;
  }
  std::vector<std::string> day;
  product.clear(), units.clear(), orders.clear(), revenue.clear();
  for (const auto& [key, d] : deltas.daily) {
    day.push_back(key.first);
    product.push_back(key.second);
    units.push_back(std::to_string(d.units));
    orders.push_back(std::to_string(d.orders));
    revenue.push_back(std::to_string(d.revenue));
  }
  return ok_or(
      tx.exec("INSERT INTO product_sales_daily (day, product_id, units, orders, revenue) "
              "SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) ORDER BY 1, 2 "
              "ON CONFLICT (day, product_id) DO UPDATE SET units = product_sales_daily.units + EXCLUDED.units, "
              "orders = product_sales_daily.orders + EXCLUDED.orders, "
              "revenue = product_sales_daily.revenue + EXCLUDED.revenue, updated_at = now()",
              day, product, units, orders, revenue));
}

core::Status record_sold_out(pg::Transaction& tx, std::span<const SoldOutSale> sales) {
  if (sales.empty()) return {};
  std::vector<std::string> product, name, stock, opens, sold, ms;
  for (const auto& s : sales) {
    product.push_back(s.product_id);
    name.push_back(s.name.value_or(""));
    stock.push_back(std::to_string(s.total_stock));
    opens.push_back(core::format_rfc3339(s.sale_opens_at));
    sold.push_back(core::format_rfc3339(s.sold_out_at));
    ms.push_back(std::to_string(sell_out_ms(s)));
  }
  return ok_or(
      tx.exec("INSERT INTO sold_out_sales (product_id, name, total_stock, sale_opens_at, sold_out_at, sell_out_ms) "
              "SELECT product_id, NULLIF(name, ''), stock, opens, sold, ms "
              "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::bigint[]) "
              "AS s(product_id, name, stock, opens, sold, ms) ORDER BY 1, 4 "
              "ON CONFLICT (product_id, sale_opens_at) DO UPDATE SET sold_out_at = EXCLUDED.sold_out_at, "
              "sell_out_ms = EXCLUDED.sell_out_ms, total_stock = EXCLUDED.total_stock, "
              "name = coalesce(EXCLUDED.name, sold_out_sales.name), recorded_at = now() "
              "WHERE EXCLUDED.sold_out_at < sold_out_sales.sold_out_at",
              product, name, stock, opens, sold, ms));
}

core::Result<std::vector<SalesEntry>> top_sales_all_time(pg::Connection& connection, int limit) {
  auto rows = connection.exec(
      "SELECT product_id, units, orders, revenue FROM product_sales ORDER BY units DESC, product_id LIMIT $1", limit);
  if (!rows) return rows.error();
  return entries_from(*rows, 0);
}

core::Result<DaySales> top_sales_of_day(pg::Connection& connection, const std::optional<std::string>& day,
                                        const std::string& zone, int limit) {
  // The day is resolved in the same statement, so "today" and its rows agree.
  auto rows = connection.exec(
      "WITH d AS (SELECT coalesce($1::date, (now() AT TIME ZONE $2)::date) AS day) "
      "SELECT to_char(d.day, 'YYYY-MM-DD'), s.product_id, s.units, s.orders, s.revenue FROM d "
      "LEFT JOIN LATERAL (SELECT product_id, units, orders, revenue FROM product_sales_daily "
      "WHERE day = d.day ORDER BY units DESC, product_id LIMIT $3) s ON true",
      day, zone, limit);
  if (!rows) return rows.error();
  return DaySales{rows->str(0, 0), entries_from(*rows, 1)};
}

core::Result<std::vector<SoldOutSale>> fastest_sold_out(pg::Connection& connection, int limit) {
  auto rows = connection.exec(
      "SELECT product_id, name, total_stock, (extract(epoch FROM sale_opens_at) * 1000)::bigint, "
      "(extract(epoch FROM sold_out_at) * 1000)::bigint FROM sold_out_sales "
      "ORDER BY sell_out_ms, sold_out_at, product_id LIMIT $1",
      limit);
  if (!rows) return rows.error();
  std::vector<SoldOutSale> sales;
  for (int i = 0; i < rows->size(); ++i) {
    sales.push_back(SoldOutSale{rows->str(i, 0), rows->optional_str(i, 1), rows->integer(i, 2),
                                core::from_unix_ms(rows->integer(i, 3)), core::from_unix_ms(rows->integer(i, 4))});
  }
  return sales;
}

}  // namespace paypipe::ranking_updater
