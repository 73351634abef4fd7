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
//   {"specversion":"1.0","id":"...","type":"dev.paypipe.payment.completed.v1","source":"/paypipe/payment-api",
//    "time":"...","datacontenttype":"application/json",
//    "dataschema":"https://paypipe.dev/schemas/events/payment.completed.v1.json",
//    "partitionkey":"<record key>","data":{...the event's data...}}
//
// That is the event in CloudEvents 1.0 JSON structured mode (partitionkey is the
// CloudEvents Kafka extension; dataschema only when the event names one). Records written
// before the CloudEvents naming (type "payment.completed") are sent with their current
// name: the consumer runtime decodes them through events::current_type.
//
// Answers: 2xx delivered; 5xx, 408, 429 (honouring Retry-After up to the cap), a timeout or a
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
  // The longest Retry-After honoured. A longer one, a negative one or one that is not a
  // whole number of seconds is not a wait: the 429 is an ordinary failure retried on the
  // policy's backoff (WebhookRetryAfterRefused), never a hint that overflows the clock.
  std::chrono::milliseconds max_retry_after{300000};
};

// The event as a CloudEvents JSON document (structured mode). `event.data` is inserted
// as it is: the consumer runtime validated it against its schema.
std::string cloudevent_json(const events::Event& event);

http::ClientRequest webhook_request(const WebhookSettings& settings, const events::Event& event);

struct WebhookVerdict {
  events::Outcome outcome;
  std::string reason;  // metrics: "" on success, else rate_limited, server_error, timeout, connection, rejected
  std::optional<int> http_status;  // when the webhook answered
};

WebhookVerdict classify_webhook(const core::Result<http::ClientResponse>& answer,
                                std::chrono::milliseconds max_retry_after = std::chrono::milliseconds(300000));

// Retry-After in whole seconds, if it is one within [0, max_retry_after]; `refused` when
// the header is there but not honoured (negative, too long, not a number).
struct WebhookRetryAfter {
  std::optional<std::chrono::milliseconds> wait;
  bool refused = false;
};
WebhookRetryAfter webhook_retry_after(const http::ClientResponse& response, std::chrono::milliseconds max_retry_after);

}  // namespace paypipe::data_platform_forwarder
