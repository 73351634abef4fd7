#include "notification_sender/http_api.hpp"

#include "core/json.hpp"
#include "http/request.hpp"

namespace paypipe::notification_sender {

core::Result<ListQuery> parse_list_query(const http::Request& request) {
  http::QueryReader in(request);
  ListQuery q;
  q.user_id = in.plain_id("userId");
  const auto page = in.page();
  q.limit = page.limit;
  q.after = page.cursor.value_or(0);
  if (auto status = in.status(); !status) return status.error();
  return q;
}

std::string page_json(const LogPage& page) {
  core::json::Writer w;
  w.begin_object().begin_array("items");
  for (const auto& e : page.items) {
    w.begin_object()
        .field("eventId", e.event_id)
        .field("eventType", e.event_type)
        .field("userId", e.user_id)
        .field("status", e.status)
        .field("reason", e.reason.empty() ? std::nullopt : std::optional<std::string>(e.reason))
        .field("chatId", e.chat_id)
        .field("locale", e.locale)
        .field("text", e.text);
    if (!e.payment_id.empty()) w.field("paymentId", e.payment_id);
    if (!e.order_id.empty()) w.field("orderId", e.order_id);
    if (!e.request_id.empty()) w.field("requestId", e.request_id);
    w.field("telegramMessageId", e.telegram_message_id).field("sentAt", e.sent_at).end_object();
  }
  w.end_array();
  http::write_next_cursor(w, page.next_after, /*legacy_next=*/true);
  w.end_object();
  return w.take();
}

void NotificationApi::add_routes(http::Router& router) {
  router.get("/v1/notifications", [this](const http::Request& request) {
    auto query = parse_list_query(request);
    if (!query) return http::error_response(query.error());
    auto lease = pool_.acquire();
    if (!lease) return http::error_response(lease.error());
    auto page = list_log(**lease, query->user_id, query->limit, query->after);
    if (!page) return http::error_response(page.error());
    return http::Response::json(200, page_json(*page));
  });
}

}  // namespace paypipe::notification_sender
