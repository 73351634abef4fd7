#include "data_platform_forwarder/http_api.hpp"

#include <charconv>

#include "core/json.hpp"
#include "core/uuid.hpp"

namespace paypipe::data_platform_forwarder {

namespace {

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

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
  ListQuery q;
  std::string problems;
  auto problem = [&](const std::string& text) { problems += (problems.empty() ? "" : "; ") + text; };
  if (const auto status = request.query_param("status")) {
    if (auto parsed = parse_status(*status)) q.status = parsed;
    else problem("status must be one of PUBLISHED, IN_PROGRESS, COMPLETED, FAILED, DEAD_LETTER");
  }
  if (const auto limit = request.query_param("limit")) {
    const auto value = parse_integer(*limit);
    if (value && *value >= 1 && *value <= 500) q.limit = static_cast<int>(*value);
    else problem("limit must be an integer from 1 to 500");
  }
  if (const auto after = request.query_param("after")) {
    const auto value = parse_integer(*after);
    if (value && *value >= 0) q.after = *value;
    else problem("after must be a cursor from a previous page");
  }
  if (!problems.empty()) return core::make_error(core::ErrorCategory::invalid_input, "bad-query", problems);
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
  w.field("next", page.next_after ? std::optional<std::string>(std::to_string(*page.next_after)) : std::nullopt);
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
    const std::string id(request.param("eventId"));
    if (!core::is_uuid(id)) {
      return http::error_response(
          core::make_error(core::ErrorCategory::invalid_input, "bad-event-id", "eventId must be a UUID"));
    }
    auto lease = pool_.acquire();
    if (!lease) return http::error_response(lease.error());
    auto found = find_delivery(**lease, id);
    if (!found) return http::error_response(found.error());
    if (!*found) {
      return http::error_response(
          core::make_error(core::ErrorCategory::not_found, "delivery-not-found", "no delivery of event " + id));
    }
    return http::Response::json(200, delivery_json(**found));
  });
}

}  // namespace paypipe::data_platform_forwarder
