#include "ranking_updater/ranking_rules.hpp"

#include <algorithm>

#include "http/request.hpp"

namespace paypipe::ranking_updater {

namespace {

constexpr int default_limit = 10;
constexpr int max_limit = 100;

core::Error invalid(const std::string& code, const std::string& message) {
  return core::make_error(core::ErrorCategory::invalid_input, code, message);
}

}  // namespace

std::map<std::string, SalesDelta> order_sales(const std::vector<contracts::OrderItem>& items) {
  std::map<std::string, SalesDelta> sales;
  for (const auto& item : items) {
    auto& delta = sales[item.product_id];
    delta.units += item.quantity;
    delta.revenue += item.quantity * item.unit_price;
    delta.orders = 1;  // two lines of one product are still one order of it
  }
  return sales;
}

SalesDeltas aggregate(std::span<const DatedOrder> orders) {
  SalesDeltas deltas;
  const auto add = [](SalesDelta& total, const SalesDelta& delta, int sign) {
    total.units += sign * delta.units;
    total.orders += sign * delta.orders;
    total.revenue += sign * delta.revenue;
  };
  for (const auto& dated : orders) {
    // A product has one event date: its lines count under its day (the venue's local
    // date) as they count at all.
    std::map<std::string, std::string> event_date_of;
    for (const auto& item : *dated.items) {
      if (item.event_date) event_date_of.emplace(item.product_id, contracts::event_day(*item.event_date));
    }
    for (const auto& [product, delta] : order_sales(*dated.items)) {
      add(deltas.all_time[product], delta, dated.sign);
      add(deltas.daily[{dated.day, product}], delta, dated.sign);
      if (const auto date = event_date_of.find(product); date != event_date_of.end()) {
        add(deltas.by_event[{date->second, product}], delta, dated.sign);
      }
    }
  }
  return deltas;
}

std::vector<DatedOrder> tally_orders(std::span<const OrderChange> changes, std::map<std::string, TallyState>& known) {
  std::vector<DatedOrder> counted;
  for (const auto& change : changes) {
    auto& state = known[change.order_id];
    if (!change.refund) {
      if (state.tally != Tally::unseen) continue;  // a duplicate, or refunded before it was read
      state = TallyState{Tally::counted, change.day};
      counted.push_back(DatedOrder{change.items, change.day, 1});
      continue;
    }
    if (state.tally == Tally::counted) counted.push_back(DatedOrder{change.items, state.day, -1});
    state = TallyState{Tally::refunded, {}};
  }
  return counted;
}

bool sells_before(const SalesEntry& a, const SalesEntry& b) {
  if (a.units != b.units) return a.units > b.units;
  return a.product_id < b.product_id;
}

std::vector<RankedSales> rank_sales(std::vector<SalesEntry> entries) {
  std::sort(entries.begin(), entries.end(), sells_before);
  std::vector<RankedSales> ranked;
  ranked.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const bool tied = i > 0 && entries[i].units == entries[i - 1].units;
    ranked.push_back(RankedSales{tied ? ranked.back().rank : static_cast<int>(i) + 1, std::move(entries[i])});
  }
  return ranked;
}

std::int64_t sell_out_ms(const SoldOutSale& sale) {
  return std::max<std::int64_t>(0, core::to_unix_ms(sale.sold_out_at) - core::to_unix_ms(sale.sale_opens_at));
}

bool sold_out_before(const SoldOutSale& a, const SoldOutSale& b) {
  const auto da = sell_out_ms(a), db = sell_out_ms(b);
  if (da != db) return da < db;
  if (a.sold_out_at != b.sold_out_at) return a.sold_out_at < b.sold_out_at;
  return a.product_id < b.product_id;
}

std::vector<RankedSoldOut> rank_sold_out(std::vector<SoldOutSale> sales) {
  std::sort(sales.begin(), sales.end(), sold_out_before);
  std::vector<RankedSoldOut> ranked;
  ranked.reserve(sales.size());
  for (std::size_t i = 0; i < sales.size(); ++i) {
    const bool tied = i > 0 && sell_out_ms(sales[i]) == sell_out_ms(sales[i - 1]);
    ranked.push_back(RankedSoldOut{tied ? ranked.back().rank : static_cast<int>(i) + 1, std::move(sales[i])});
  }
  return ranked;
}

std::vector<SoldOutSale> merge_sold_out(std::span<const SoldOutSale> sales) {
  std::map<std::pair<std::string, std::int64_t>, SoldOutSale> by_sale;
  for (const auto& sale : sales) {
    const auto key = std::make_pair(sale.product_id, core::to_unix_ms(sale.sale_opens_at));
    const auto [it, inserted] = by_sale.emplace(key, sale);
    if (!inserted && sale.sold_out_at < it->second.sold_out_at) it->second = sale;
  }
  std::vector<SoldOutSale> merged;
  merged.reserve(by_sale.size());
  for (auto& [key, sale] : by_sale) merged.push_back(std::move(sale));
  return merged;
}

bool valid_date(std::string_view text) { return contracts::is_calendar_date(text); }

core::Result<int> parse_limit(const std::map<std::string, std::string>& query) {
  http::QueryReader in(query);
  const int limit = in.limit({default_limit, max_limit});
  if (auto status = in.status(); !status) return status.error();
  return limit;
}

core::Result<EventDateQuery> parse_event_date_query(const std::map<std::string, std::string>& query) {
  EventDateQuery q;
  if (const auto it = query.find("date"); it != query.end()) {
    if (!valid_date(it->second)) return invalid("bad-date", "date must be an event date YYYY-MM-DD");
    q.date = it->second;
  }
  auto limit = parse_limit(query);
  if (!limit) return limit.error();
  q.limit = *limit;
  return q;
}

core::Result<ProductsQuery> parse_products_query(const std::map<std::string, std::string>& query) {
  ProductsQuery q;
  if (const auto it = query.find("window"); it != query.end()) {
    if (it->second == "all") {
      q.window = ProductsQuery::Window::all;
    } else if (it->second != "day") {
      return invalid("bad-window", "window must be day or all");
    }
  }
  if (const auto it = query.find("date"); it != query.end()) {
    if (q.window != ProductsQuery::Window::day) return invalid("bad-date", "date applies to window=day only");
    if (!valid_date(it->second)) return invalid("bad-date", "date must be a calendar date YYYY-MM-DD");
    q.date = it->second;
  }
  auto limit = parse_limit(query);
  if (!limit) return limit.error();
  q.limit = *limit;
  return q;
}

}  // namespace paypipe::ranking_updater
