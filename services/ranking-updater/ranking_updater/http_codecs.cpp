#include "ranking_updater/http_codecs.hpp"

#include "core/json.hpp"

namespace paypipe::ranking_updater {

namespace {

void write_sales_items(core::json::Writer& w, const std::vector<RankedSales>& ranked) {
  w.begin_array("items");
  for (const auto& r : ranked) {
    w.begin_object()
        .field("rank", r.rank)
        .field("productId", r.entry.product_id)
        .field("unitsSold", r.entry.units)
        .field("orders", r.entry.orders)
        .field("revenue", r.entry.revenue)
        .end_object();
  }
  w.end_array();
}

}  // namespace

std::string products_json(const ProductsQuery& query, const std::optional<std::string>& day,
                          const std::string& time_zone, const std::vector<RankedSales>& ranked) {
  core::json::Writer w;
  w.begin_object().field("window", query.window == ProductsQuery::Window::day ? "day" : "all");
  if (day) w.field("date", *day);
  w.field("timeZone", time_zone);
  write_sales_items(w, ranked);
  w.end_object();
  return w.take();
}

std::string sales_json(const std::optional<std::string>& event_date, const std::vector<RankedSales>& ranked) {
  core::json::Writer w;
  w.begin_object();
  if (event_date) w.field("eventDate", *event_date);
  write_sales_items(w, ranked);
  w.end_object();
  return w.take();
}

std::string sold_out_json(const std::optional<std::string>& event_date, const std::vector<RankedSoldOut>& ranked) {
  core::json::Writer w;
  w.begin_object();
  if (event_date) w.field("eventDate", *event_date);
  w.begin_array("items");
  for (const auto& r : ranked) {
    const auto& s = r.sale;
    w.begin_object().field("rank", r.rank).field("productId", s.product_id);
    if (s.name) w.field("name", *s.name);
    w.field("totalStock", s.total_stock)
        .field("saleOpensAt", core::format_rfc3339(s.sale_opens_at))
        .field("soldOutAt", core::format_rfc3339(s.sold_out_at))
        .field("sellOutMs", sell_out_ms(s));
    if (s.event_date) w.field("eventDate", *s.event_date);
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace paypipe::ranking_updater
