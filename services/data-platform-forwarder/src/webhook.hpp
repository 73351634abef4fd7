#pragma once
// The analytics webhook call as pure functions: the request for an event, and what an
// answer means.
//
//   POST {PAYPIPE_WEBHOOK_URL}
//   Content-Type: application/cloudevents+json; charset=utf-8
//   Authorization: {PAYPIPE_WEBHOOK_AUTHORIZATION}     (a secret: the whole header value)
//   Idempotency-Key: {event id}                        (the same on every try and redelivery)
//   traceparent: {the event's W3C trace}               (when it has one)
//
//   {"specversion":"1.0","id":"...","type":"payment.completed","source":"/paypipe/payment-api",
//    "time":"...","datacontenttype":"application/json","dataschema":"urn:paypipe:schema:...",
//    "partitionkey":"<record key>","data":{...the event's data...}}
//
// That is the event in CloudEvents 1.0 JSON structured mode (partitionkey is the
// CloudEvents Kafka extension; dataschema only when the event names one).
//
// Answers: 2xx delivered; 5xx, 408, 429 (honouring Retry-After), a timeout or a
// connection error retry; any other status is fatal (the same request would be refused
// again: a dead letter at once).

#include <chrono>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "events/envelope.hpp"
#include "events/outcome.hpp"
#include "http/client.hpp"

namespace paypipe::data_platform_forwarder {

struct WebhookSettings {
  std::string url;
  std::string authorization;  // secret; empty: no Authorization header
  std::chrono::milliseconds timeout{10000};
};

// The event as a CloudEvents JSON document (structured mode). `event.data` is inserted
// as it is: the consumer runtime validated it against its schema.
std::string cloudevent_json(const events::Event& event);

http::ClientRequest webhook_request(const WebhookSettings& settings, const events::Event& event);

struct WebhookVerdict {
  events::Outcome outcome;
  std::string reason;             // metrics: "" on success, else rate_limited, server_error, timeout, connection, rejected
  std::optional<int> http_status;  // when the webhook answered
};

WebhookVerdict classify_webhook(const core::Result<http::ClientResponse>& answer);

}  // namespace paypipe::data_platform_forwarder
