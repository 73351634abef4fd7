#pragma once
// notification-sender's HTTP endpoints (besides /healthz, /readyz, /metrics):
//   GET /v1/notifications?userId=&limit=&cursor=   the log, oldest first; `cursor` is the
//       previous page's "nextCursor" (http::QueryReader; `after` and "next" are the
//       deprecated names), limit 1..500 (default 50)

#include <optional>
#include <string>

#include "http/router.hpp"
#include "notification_sender/notification_log.hpp"
#include "pg/pool.hpp"

namespace paypipe::notification_sender {

struct ListQuery {
  std::optional<std::string> user_id;
  int limit = 50;
  std::int64_t after = 0;
};

// Pure: the query parameters, or invalid_input naming each bad one.
core::Result<ListQuery> parse_list_query(const http::Request& request);
std::string page_json(const LogPage& page);

class NotificationApi {
 public:
  explicit NotificationApi(pg::Pool& pool) : pool_(pool) {}
  void add_routes(http::Router& router);

 private:
  pg::Pool& pool_;
};

}  // namespace paypipe::notification_sender
