#include "data_platform_forwarder/webhook.hpp"

#include <charconv>

#include "core/json.hpp"

namespace paypipe::data_platform_forwarder {

namespace {

std::string error_class(std::string_view name) { return "paypipe.data-platform-forwarder." + std::string(name); }

std::string excerpt(const std::string& body) {
  std::string text = body.substr(0, 200);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

}  // namespace

WebhookRetryAfter webhook_retry_after(const http::ClientResponse& response, std::chrono::milliseconds max_retry_after) {
  const auto header = response.header("Retry-After");
  if (!header) return {};
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), seconds);
  if (ec != std::errc() || end != header->data() + header->size() || seconds < 0) return {std::nullopt, true};
  // Compared in seconds first: seconds * 1000 of an absurd value would overflow.
  if (seconds > max_retry_after.count() / 1000 + 1) return {std::nullopt, true};
  const std::chrono::milliseconds wait = std::chrono::seconds(seconds);
  if (wait > max_retry_after) return {std::nullopt, true};
  return {wait, false};
}

std::string cloudevent_json(const events::Event& event) {
  core::json::Writer w;
  w.begin_object()
      .field("specversion", "1.0")
      .field("id", event.id)
      .field("type", event.type)
      .field("source", event.source)
      .field("time", event.time)
      .field("datacontenttype", "application/json");
  if (!event.dataschema.empty()) w.field("dataschema", event.dataschema);
  if (!event.key.empty()) w.field("partitionkey", event.key);
  w.raw_field("data", event.data.empty() ? std::string_view("null") : std::string_view(event.data));
  w.end_object();
  return w.take();
}

http::ClientRequest webhook_request(const WebhookSettings& settings, const events::Event& event) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = settings.url;
  request.headers = {{"Content-Type", "application/cloudevents+json; charset=utf-8"}, {"Idempotency-Key", event.id}};
  if (!settings.authorization.empty()) request.headers.push_back({"Authorization", settings.authorization});
  if (!event.traceparent.empty()) request.headers.push_back({"traceparent", event.traceparent});
  request.body = cloudevent_json(event);
  request.timeout = settings.timeout;
  return request;
}

WebhookVerdict classify_webhook(const core::Result<http::ClientResponse>& answer,
                                std::chrono::milliseconds max_retry_after) {
  WebhookVerdict v;
  if (!answer) {
    const bool timed_out = answer.error().code == "http-timeout";
    v.reason = timed_out ? "timeout" : "connection";
    v.outcome = events::Outcome::retry(error_class(timed_out ? "WebhookTimeout" : "WebhookUnreachable"),
                                       answer.error().message);
    return v;
  }
  const int status = answer->status;
  v.http_status = status;
  if (status >= 200 && status < 300) {
    v.outcome = events::Outcome::ok();
    return v;
  }
  const std::string what = "webhook answered " + std::to_string(status) +
                           (answer->body.empty() ? std::string() : ": " + excerpt(answer->body));
  if (status == 429) {
    v.reason = "rate_limited";
    const auto hint = webhook_retry_after(*answer, max_retry_after);
    if (hint.refused) {
      v.outcome = events::Outcome::retry(error_class("WebhookRetryAfterRefused"),
                                         what + " (Retry-After not honoured: beyond " +
                                             std::to_string(max_retry_after.count() / 1000) + " s or not a number)");
    } else {
      v.outcome = events::Outcome::retry(error_class("WebhookRateLimited"), what, hint.wait);
    }
  } else if (status >= 500 || status == 408) {
    v.reason = "server_error";
    v.outcome = events::Outcome::retry(error_class("WebhookUnavailable"), what);
  } else {
    v.reason = "rejected";
    v.outcome = events::Outcome::fail(error_class("WebhookRejected"), what);
  }
  return v;
}

}  // namespace paypipe::data_platform_forwarder
