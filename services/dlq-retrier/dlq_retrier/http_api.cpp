#include "dlq_retrier/http_api.hpp"

#include "http/request.hpp"

namespace paypipe::dlq_retrier {

namespace {

http::Response record_response(const core::Result<ParkedRecord>& record) {
  if (!record) return http::error_response(record.error());
  return http::Response::json(200, detail_json(*record));
}

// The dead letter named by the path: group, partition and offset.
struct DeadLetterPath {
  std::string group;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

core::Result<DeadLetterPath> dead_letter_path(const http::Request& request) {
  auto group = parse_group(request.param("group"));
  if (!group) return group.error();
  auto place = parse_waiting_cursor(std::string(request.param("partition")) + ":" +
                                    std::string(request.param("offset")));
  if (!place) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-dead-letter",
                            "partition and offset are non-negative integers");
  }
  return DeadLetterPath{std::move(group).value(), place->partition, place->offset};
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

void add_waiting_routes(http::Router& router, WaitingOperations& operations, const std::string& admin_token) {
  router.get("/v1/dead-letters", http::admin_only(admin_token, [&operations](const http::Request& request) {
               http::QueryReader in(request);
               const auto group_text = in.text("group");
               in.refuse_unread();
               if (auto s = in.status(); !s) return http::error_response(s.error());
               std::optional<std::string> group;
               if (group_text) {
                 auto g = parse_group(*group_text);
                 if (!g) return http::error_response(g.error());
                 group = std::move(g).value();
               }
               auto summaries = operations.summaries(group);
               if (!summaries) return http::error_response(summaries.error());
               return http::Response::json(200, summaries_json(*summaries));
             }));

  router.get("/v1/dead-letters/{group}", http::admin_only(admin_token, [&operations](const http::Request& request) {
               auto group = parse_group(request.param("group"));
               if (!group) return http::error_response(group.error());
               http::QueryReader in(request);
               const auto limit = in.limit({50, static_cast<int>(max_page_size)});
               const auto cursor_text = in.text("cursor");
               in.refuse_unread();
               if (auto s = in.status(); !s) return http::error_response(s.error());
               std::optional<WaitingCursor> cursor;
               if (cursor_text) {
                 auto c = parse_waiting_cursor(*cursor_text);
                 if (!c) return http::error_response(c.error());
                 cursor = *c;
               }
               auto page = operations.list(*group, static_cast<std::size_t>(limit), cursor);
               if (!page) return http::error_response(page.error());
               return http::Response::json(200, waiting_page_json(*page));
             }));

  router.post("/v1/dead-letters/{group}/retry",
              http::admin_only(admin_token, [&operations](const http::Request& request) {
                auto group = parse_group(request.param("group"));
                if (!group) return http::error_response(group.error());
                auto retried = operations.retry_all(*group);
                if (!retried) return http::error_response(retried.error());
                return http::Response::json(200, retry_all_json(*group, *retried));
              }));

  router.post("/v1/dead-letters/{group}/{partition}/{offset}/retry",
              http::admin_only(admin_token, [&operations](const http::Request& request) {
                auto at = dead_letter_path(request);
                if (!at) return http::error_response(at.error());
                auto retried = operations.retry(at->group, at->partition, at->offset);
                if (!retried) return http::error_response(retried.error());
                return http::Response::json(200, retried_json(*retried));
              }));

  router.post("/v1/dead-letters/{group}/{partition}/{offset}/skip",
              http::admin_only(admin_token, [&operations](const http::Request& request) {
                auto at = dead_letter_path(request);
                if (!at) return http::error_response(at.error());
                auto body = http::json_body(request);
                if (!body) return http::error_response(body.error());
                if (!body->IsObject()) {
                  return http::error_response(core::make_error(core::ErrorCategory::invalid_input, "bad-body",
                                                               "the body is a JSON object: {\"reason\": \"...\"}"));
                }
                core::json::Reader in(*body);
                const auto reason = in.text("reason", core::json::free_text_rule);
                if (auto s = in.status(); !s) return http::error_response(s.error());
                return record_response(operations.skip(at->group, at->partition, at->offset, reason));
              }));
}

}  // namespace paypipe::dlq_retrier
