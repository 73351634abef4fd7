#pragma once
// ranking-updater's HTTP endpoints, answered from indexed tables:
//   GET /v1/rankings/products?window=day|all&date=YYYY-MM-DD&limit=   best sellers
//   GET /v1/rankings/sales?date=YYYY-MM-DD&limit=                     best sellers of an event date (or all time)
//   GET /v1/rankings/sold-out?date=YYYY-MM-DD&limit=                  fastest sell-outs (of an event date)
// Refunded orders are never counted: a product whose sales were all refunded is not listed.

#include <string>

#include "http/router.hpp"
#include "pg/pool.hpp"

namespace paypipe::ranking_updater {

class RankingApi {
 public:
  RankingApi(pg::Pool& pool, std::string time_zone);
  void add_routes(http::Router& router);

 private:
  http::Response products(const http::Request& request);
  http::Response sales(const http::Request& request);
  http::Response sold_out(const http::Request& request);

  pg::Pool& pool_;
  std::string time_zone_;
};

}  // namespace paypipe::ranking_updater
