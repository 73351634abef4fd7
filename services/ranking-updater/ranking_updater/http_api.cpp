#include "ranking_updater/http_api.hpp"

#include "ranking_updater/http_codecs.hpp"
#include "ranking_updater/ranking_store.hpp"

namespace paypipe::ranking_updater {

RankingApi::RankingApi(pg::Pool& pool, std::string time_zone) : pool_(pool), time_zone_(std::move(time_zone)) {}

void RankingApi::add_routes(http::Router& router) {
  router.get("/v1/rankings/products", [this](const http::Request& request) { return products(request); });
  router.get("/v1/rankings/sales", [this](const http::Request& request) { return sales(request); });
  router.get("/v1/rankings/sold-out", [this](const http::Request& request) { return sold_out(request); });
}

http::Response RankingApi::products(const http::Request& request) {
  auto query = parse_products_query(request.query);
  if (!query) return http::error_response(query.error());
  auto lease = pool_.acquire();
  if (!lease) return http::error_response(lease.error());
  if (query->window == ProductsQuery::Window::all) {
    auto entries = top_sales_all_time(**lease, query->limit);
    if (!entries) return http::error_response(entries.error());
    return http::Response::json(200, products_json(*query, std::nullopt, time_zone_, rank_sales(*entries)));
  }
  auto day = top_sales_of_day(**lease, query->date, time_zone_, query->limit);
  if (!day) return http::error_response(day.error());
  return http::Response::json(200, products_json(*query, day->day, time_zone_, rank_sales(day->entries)));
}

http::Response RankingApi::sales(const http::Request& request) {
  auto query = parse_event_date_query(request.query);
  if (!query) return http::error_response(query.error());
  auto lease = pool_.acquire();
  if (!lease) return http::error_response(lease.error());
  auto entries = query->date ? top_sales_of_event_date(**lease, *query->date, query->limit)
                             : top_sales_all_time(**lease, query->limit);
  if (!entries) return http::error_response(entries.error());
  return http::Response::json(200, sales_json(query->date, rank_sales(*entries)));
}

http::Response RankingApi::sold_out(const http::Request& request) {
  auto query = parse_event_date_query(request.query);
  if (!query) return http::error_response(query.error());
  auto lease = pool_.acquire();
  if (!lease) return http::error_response(lease.error());
  auto sales = fastest_sold_out(**lease, query->date, query->limit);
  if (!sales) return http::error_response(sales.error());
  return http::Response::json(200, sold_out_json(query->date, rank_sold_out(*sales)));
}

}  // namespace paypipe::ranking_updater
