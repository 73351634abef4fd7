#include "dlq_retrier/http_api.hpp"

#include "http/request.hpp"

namespace paypipe::dlq_retrier {

namespace {

http::Response record_response(const core::Result<ParkedRecord>& record) {
  if (!record) return http::error_response(record.error());
  return http::Response::json(200, detail_json(*record));
}

}  // namespace

void add_parked_routes(http::Router& router, ParkedOperations& operations, std::string admin_token) {
  router.get("/v1/parked", http::admin_only(admin_token, [&operations](const http::Request& request) {
               auto query = parse_parked_query(request.query);
               if (!query) return http::error_response(query.error());
               auto page = operations.list(*query);
               if (!page) return http::error_response(page.error());
               return http::Response::json(200, page_json(*page));
             }));

  router.get("/v1/parked/{id}", http::admin_only(admin_token, [&operations](const http::Request& request) {
               auto id = parse_parked_id(request.param("id"));
               if (!id) return http::error_response(id.error());
               return record_response(operations.get(*id));
             }));

  router.post("/v1/parked/{id}/replay", http::admin_only(admin_token, [&operations](const http::Request& request) {
                auto id = parse_parked_id(request.param("id"));
                if (!id) return http::error_response(id.error());
                return record_response(operations.replay(*id));
              }));

  router.post("/v1/parked/replay", http::admin_only(admin_token, [&operations](const http::Request& request) {
                const auto group = request.query_param("group");
                if (!group || group->empty()) {
                  return http::error_response(core::make_error(core::ErrorCategory::invalid_input, "missing-group",
                                                               "give the consumer group: ?group=<name>"));
                }
                auto replayed = operations.replay_group(std::string(*group));
                if (!replayed) return http::error_response(replayed.error());
                return http::Response::json(200, replay_group_json(std::string(*group), *replayed));
              }));

  router.del("/v1/parked/{id}", http::admin_only(admin_token, [&operations](const http::Request& request) {
               auto id = parse_parked_id(request.param("id"));
               if (!id) return http::error_response(id.error());
               return record_response(operations.purge(*id));
             }));
}

}  // namespace paypipe::dlq_retrier
