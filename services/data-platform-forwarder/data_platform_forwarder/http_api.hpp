#pragma once
// data-platform-forwarder's HTTP endpoints (besides /healthz, /readyz, /metrics):
//   GET /v1/deliveries?status=&limit=&cursor=  the delivery log, oldest first; status one
//       of PUBLISHED, IN_PROGRESS, COMPLETED, FAILED, DEAD_LETTER; `cursor` is the previous
//       page's "nextCursor" (`after` and "next" the deprecated names); limit 1..500 (default 50)
//   GET /v1/deliveries/{eventId}               one event's delivery

#include <optional>
#include <string>

#include "data_platform_forwarder/delivery_log.hpp"
#include "http/router.hpp"
#include "pg/pool.hpp"

namespace paypipe::data_platform_forwarder {

struct ListQuery {
  std::optional<DeliveryStatus> status;
  int limit = 50;
  std::int64_t after = 0;
};

// Pure: the query parameters, or invalid_input naming each bad one.
core::Result<ListQuery> parse_list_query(const http::Request& request);
std::string delivery_json(const Delivery& delivery);
std::string page_json(const DeliveryPage& page);

class DeliveryApi {
 public:
  explicit DeliveryApi(pg::Pool& pool) : pool_(pool) {}
  void add_routes(http::Router& router);

 private:
  pg::Pool& pool_;
};

}  // namespace paypipe::data_platform_forwarder
