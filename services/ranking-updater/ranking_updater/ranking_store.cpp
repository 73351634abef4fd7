#include "ranking_updater/ranking_store.hpp"

#include <algorithm>

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

core::Result<std::map<std::string, TallyState>> take_tallies(pg::Transaction& tx, std::vector<std::string> order_ids) {
  std::map<std::string, TallyState> tallies;
  if (order_ids.empty()) return tallies;
  std::sort(order_ids.begin(), order_ids.end());
  order_ids.erase(std::unique(order_ids.begin(), order_ids.end()), order_ids.end());
  // A row another transaction is inserting makes this one wait for its commit: both
  // then read the same, final state.
  if (auto s = ok_or(tx.exec("INSERT INTO ranked_orders (order_id) SELECT unnest($1::uuid[]) ORDER BY 1 "
                             "ON CONFLICT (order_id) DO NOTHING",
                             order_ids));
      !s) {
    return s.error();
  }
  auto rows = tx.exec(
      "SELECT order_id::text, state, to_char(completed_day, 'YYYY-MM-DD') FROM ranked_orders "
      "WHERE order_id = ANY($1::uuid[]) ORDER BY order_id FOR UPDATE",
      order_ids);
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) {
    const auto state = rows->optional_str(i, 1);
    if (!state) continue;  // never counted nor refunded
    tallies[rows->str(i, 0)] = TallyState{*state == "COUNTED" ? Tally::counted : Tally::refunded,
                                          rows->optional_str(i, 2).value_or("")};
  }
  return tallies;
}

core::Status save_tallies(pg::Transaction& tx, const std::map<std::string, TallyState>& tallies) {
  std::vector<std::string> ids, states, days;  // "" stands for no day
  for (const auto& [id, t] : tallies) {
    if (t.tally == Tally::unseen) continue;
    ids.push_back(id);
    states.emplace_back(t.tally == Tally::counted ? "COUNTED" : "REFUNDED");
    days.push_back(t.tally == Tally::counted ? t.day : "");
  }
  if (ids.empty()) return {};
  return ok_or(
      tx.exec("UPDATE ranked_orders r SET state = v.state, completed_day = NULLIF(v.day, '')::date, updated_at = now() "
              "FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, state, day) WHERE r.order_id = v.id",
              ids, states, days));
}

namespace {

bool is_zero(const SalesDelta& d) { return d.units == 0 && d.orders == 0 && d.revenue == 0; }
bool takes_off(const SalesDelta& d) { return d.units < 0 || d.orders < 0 || d.revenue < 0; }

// A counter table: its key columns (text, or date when `dated`), then units, orders, revenue.
struct CounterTable {
  std::string name;
  std::vector<std::string> keys;  // e.g. {"day", "product_id"}
  bool dated = false;             // the first key is a date
};

// The deltas' columns, key parts first, as statement parameters.
struct CounterColumns {
  std::vector<std::vector<std::string>> keys;
  std::vector<std::string> units, orders, revenue;

  void add(const std::vector<std::string>& key, const SalesDelta& d) {
    keys.resize(key.size());
    for (std::size_t k = 0; k < key.size(); ++k) keys[k].push_back(key[k]);
    units.push_back(std::to_string(d.units));
    orders.push_back(std::to_string(d.orders));
    revenue.push_back(std::to_string(d.revenue));
  }
};

core::Status exec_counters(pg::Transaction& tx, const std::string& sql, const CounterColumns& c) {
  if (c.units.empty()) return {};
  if (c.keys.size() == 1) return ok_or(tx.exec(sql, c.keys[0], c.units, c.orders, c.revenue));
  return ok_or(tx.exec(sql, c.keys[0], c.keys[1], c.units, c.orders, c.revenue));
}

// Adds the deltas to `table`, rows in key order. Counts that grow are upserted;
// counts that shrink (refunds) update their rows, which exist: what a refund takes off
// was added before (tally_orders). An upsert cannot carry them: PostgreSQL checks the
// row it would insert (units >= 0) before it finds the conflict.
template <typename Key, typename KeyOf>
core::Status write_counters(pg::Transaction& tx, const CounterTable& table, const std::map<Key, SalesDelta>& deltas,
                            KeyOf&& key_of) {
  CounterColumns grow, shrink;
  for (const auto& [key, d] : deltas) {
    if (is_zero(d)) continue;
    (takes_off(d) ? shrink : grow).add(key_of(key), d);
  }
  std::string keys, unnest, match, order;
  for (std::size_t k = 0; k < table.keys.size(); ++k) {
    const auto n = std::to_string(k + 1);
    keys += (k ? ", " : "") + table.keys[k];
    unnest += "$" + n + (k == 0 && table.dated ? "::date[], " : "::text[], ");
    match += (k ? " AND t." : "t.") + table.keys[k] + " = v." + table.keys[k];
    order += (k ? ", " : "") + n;
  }
  const auto n = table.keys.size();
  unnest += "$" + std::to_string(n + 1) + "::bigint[], $" + std::to_string(n + 2) + "::bigint[], $" +
            std::to_string(n + 3) + "::bigint[]";
  const auto& t = table.name;
  const std::string upsert = "INSERT INTO " + t + " (" + keys + ", units, orders, revenue) SELECT * FROM unnest(" +
                             unnest + ") ORDER BY " + order + " ON CONFLICT (" + keys + ") DO UPDATE SET units = " + t +
                             ".units + EXCLUDED.units, orders = " + t + ".orders + EXCLUDED.orders, revenue = " + t +
                             ".revenue + EXCLUDED.revenue, updated_at = now()";
  const std::string take_off = "UPDATE " + t +
                               " t SET units = t.units + v.units, orders = t.orders + v.orders, revenue = t.revenue + "
                               "v.revenue, updated_at = now() FROM unnest(" +
                               unnest + ") AS v(" + keys + ", units, orders, revenue) WHERE " + match;
  if (auto s = exec_counters(tx, upsert, grow); !s) return s;
  return exec_counters(tx, take_off, shrink);
}

}  // namespace

core::Status add_sales(pg::Transaction& tx, const SalesDeltas& deltas) {
  static const CounterTable all_time{"product_sales", {"product_id"}, false};
  static const CounterTable daily{"product_sales_daily", {"day", "product_id"}, true};
  static const CounterTable by_event{"product_sales_by_event_date", {"event_date", "product_id"}, true};
  const auto product_key = [](const std::string& id) { return std::vector<std::string>{id}; };
  const auto pair_key = [](const DayProduct& k) { return std::vector<std::string>{k.first, k.second}; };
  if (auto s = write_counters(tx, all_time, deltas.all_time, product_key); !s) return s;
  if (auto s = write_counters(tx, daily, deltas.daily, pair_key); !s) return s;
  return write_counters(tx, by_event, deltas.by_event, pair_key);
}

core::Status record_sold_out(pg::Transaction& tx, std::span<const SoldOutSale> sales) {
  if (sales.empty()) return {};
  std::vector<std::string> product, name, stock, opens, sold, ms, event_date;  // "" stands for none
  for (const auto& s : sales) {
    event_date.push_back(s.event_date.value_or(""));
    product.push_back(s.product_id);
    name.push_back(s.name.value_or(""));
    stock.push_back(std::to_string(s.total_stock));
    opens.push_back(core::format_rfc3339(s.sale_opens_at));
    sold.push_back(core::format_rfc3339(s.sold_out_at));
    ms.push_back(std::to_string(sell_out_ms(s)));
  }
  return ok_or(
      tx.exec("INSERT INTO sold_out_sales (product_id, name, total_stock, sale_opens_at, sold_out_at, sell_out_ms, "
              "event_date) "
              "SELECT product_id, NULLIF(name, ''), stock, opens, sold, ms, NULLIF(event_date, '')::date "
              "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::bigint[], "
              "$7::text[]) AS s(product_id, name, stock, opens, sold, ms, event_date) ORDER BY 1, 4 "
              "ON CONFLICT (product_id, sale_opens_at) DO UPDATE SET sold_out_at = EXCLUDED.sold_out_at, "
              "sell_out_ms = EXCLUDED.sell_out_ms, total_stock = EXCLUDED.total_stock, "
              "name = coalesce(EXCLUDED.name, sold_out_sales.name), "
              "event_date = coalesce(EXCLUDED.event_date, sold_out_sales.event_date), recorded_at = now() "
              "WHERE EXCLUDED.sold_out_at < sold_out_sales.sold_out_at",
              product, name, stock, opens, sold, ms, event_date));
}

core::Result<std::vector<SalesEntry>> top_sales_all_time(pg::Connection& connection, int limit) {
  auto rows = connection.exec(
      "SELECT product_id, units, orders, revenue FROM product_sales WHERE units > 0 ORDER BY units DESC, product_id "
      "LIMIT $1",
      limit);
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
      "WHERE day = d.day AND units > 0 ORDER BY units DESC, product_id LIMIT $3) s ON true",
      day, zone, limit);
  if (!rows) return rows.error();
  return DaySales{rows->str(0, 0), entries_from(*rows, 1)};
}

core::Result<std::vector<SalesEntry>> top_sales_of_event_date(pg::Connection& connection, const std::string& event_date,
                                                              int limit) {
  auto rows = connection.exec(
      "SELECT product_id, units, orders, revenue FROM product_sales_by_event_date "
      "WHERE event_date = $1::date AND units > 0 ORDER BY units DESC, product_id LIMIT $2",
      event_date, limit);
  if (!rows) return rows.error();
  return entries_from(*rows, 0);
}

core::Result<std::vector<SoldOutSale>> fastest_sold_out(pg::Connection& connection,
                                                        const std::optional<std::string>& event_date, int limit) {
  static const std::string columns =
      "SELECT product_id, name, total_stock, (extract(epoch FROM sale_opens_at) * 1000)::bigint, "
      "(extract(epoch FROM sold_out_at) * 1000)::bigint, to_char(event_date, 'YYYY-MM-DD') FROM sold_out_sales ";
  auto rows = event_date ? connection.exec(columns +
                                               "WHERE event_date = $1::date "
                                               "ORDER BY sell_out_ms, sold_out_at, product_id LIMIT $2",
                                           *event_date, limit)
                         : connection.exec(columns + "ORDER BY sell_out_ms, sold_out_at, product_id LIMIT $1", limit);
  if (!rows) return rows.error();
  std::vector<SoldOutSale> sales;
  for (int i = 0; i < rows->size(); ++i) {
    sales.push_back(SoldOutSale{rows->str(i, 0), rows->optional_str(i, 1), rows->integer(i, 2),
                                core::from_unix_ms(rows->integer(i, 3)), core::from_unix_ms(rows->integer(i, 4)),
                                rows->optional_str(i, 5)});
  }
  return sales;
}

}  // namespace paypipe::ranking_updater
