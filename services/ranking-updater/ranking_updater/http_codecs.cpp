#include "ranking_updater/http_codecs.hpp"

#include "core/json.hpp"

namespace paypipe::ranking_updater {

std::string products_json(const ProductsQuery& query, const std::optional<std::string>& day,
                          const std::string& time_zone, const std::vector<RankedSales>& ranked) {
  core::json::Writer w;
  w.begin_object().field("window", query.window == ProductsQuery::Window::day ? "day" : "all");
  if (day) w.field("date", *day);
  w.field("timeZone", time_zone).begin_array("items");
  for (const auto& r : ranked) {
    w.begin_object()
        .field("rank", r.rank)
        .field("productId", r.entry.product_id)
        .field("unitsSold", r.entry.units)
        .field("orders", r.entry.orders)
        .field("revenue", r.entry.revenue)
        .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string sold_out_json(const std::vector<RankedSoldOut>& ranked) {
  core::json::Writer w;
  w.begin_object().begin_array("items");
  for (const auto& r : ranked) {
    const auto& s = r.sale;
    w.begin_object().field("rank", r.rank).field("productId", s.product_id);
    if (s.name) w.field("name", *s.name);
    w.field("totalStock", s.total_stock)
        .field("saleOpensAt", core::format_rfc3339(s.sale_opens_at))
        .field("soldOutAt", core::format_rfc3339(s.sold_out_at))
        .field("sellOutMs", sell_out_ms(s))
        .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace paypipe::ranking_updater
