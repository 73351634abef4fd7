#include "notification_sender/http_api.hpp"

#include <charconv>

#include "core/json.hpp"

namespace paypipe::notification_sender {

namespace {

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_id(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

core::Result<ListQuery> parse_list_query(const http::Request& request) {
  ListQuery q;
  std::string problems;
  auto problem = [&](const std::string& text) { problems += (problems.empty() ? "" : "; ") + text; };
  if (const auto user = request.query_param("userId")) {
    if (is_id(*user)) q.user_id = std::string(*user);
    else problem("userId must be 1-64 characters of [A-Za-z0-9_.:-]");
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
  w.field("next", page.next_after ? std::optional<std::string>(std::to_string(*page.next_after)) : std::nullopt);
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
