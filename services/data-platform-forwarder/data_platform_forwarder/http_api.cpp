#include "data_platform_forwarder/http_api.hpp"

#include "core/json.hpp"
#include "http/request.hpp"

namespace paypipe::data_platform_forwarder {

namespace {

void write_delivery(core::json::Writer& w, const Delivery& d) {
  w.begin_object()
      .field("eventId", d.event_id)
      .field("eventType", d.event_type)
      .field("eventKey", d.event_key)
      .field("status", d.status)
      .field("attempts", d.attempts)
      .field("lastHttpStatus", d.last_http_status)
      .field("lastError", d.last_error)
      .field("createdAt", d.created_at)
      .field("updatedAt", d.updated_at)
      .field("completedAt", d.completed_at)
      .end_object();
}

}  // namespace

core::Result<ListQuery> parse_list_query(const http::Request& request) {
  http::QueryReader in(request);
  ListQuery q;
  if (const auto status = in.text("status")) {
    q.status = parse_status(*status);
    if (!q.status) in.fail("status must be one of PUBLISHED, IN_PROGRESS, COMPLETED, FAILED, DEAD_LETTER");
  }
  const auto page = in.page();
  q.limit = page.limit;
  q.after = page.cursor.value_or(0);
  if (auto status = in.status(); !status) return status.error();
  return q;
}

std::string delivery_json(const Delivery& delivery) {
  core::json::Writer w;
  write_delivery(w, delivery);
  return w.take();
}

std::string page_json(const DeliveryPage& page) {
  core::json::Writer w;
  w.begin_object().begin_array("items");
  for (const auto& d : page.items) write_delivery(w, d);
  w.end_array();
  http::write_next_cursor(w, page.next_after, /*legacy_next=*/true);
  w.end_object();
  return w.take();
}

void DeliveryApi::add_routes(http::Router& router) {
  router.get("/v1/deliveries", [this](const http::Request& request) {
    auto query = parse_list_query(request);
    if (!query) return http::error_response(query.error());
    auto lease = pool_.acquire();
    if (!lease) return http::error_response(lease.error());
    auto page = list_deliveries(**lease, query->status, query->limit, query->after);
    if (!page) return http::error_response(page.error());
    return http::Response::json(200, page_json(*page));
  });
  router.get("/v1/deliveries/{eventId}", [this](const http::Request& request) {
    auto id = http::uuid_param(request, "eventId", "bad-event-id");
    if (!id) return http::error_response(id.error());
    auto lease = pool_.acquire();
    if (!lease) return http::error_response(lease.error());
    auto found = find_delivery(**lease, *id);
    if (!found) return http::error_response(found.error());
    if (!*found) {
      return http::error_response(
          core::make_error(core::ErrorCategory::not_found, "delivery-not-found", "no delivery of event " + *id));
    }
    return http::Response::json(200, delivery_json(**found));
  });
}

}  // namespace paypipe::data_platform_forwarder
