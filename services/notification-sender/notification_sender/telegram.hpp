#pragma once
// The Telegram Bot API's sendMessage call as pure functions: the request to send, and
// what an answer means.
//
//   POST {base_url}/bot{token}/sendMessage   {"chat_id": 123 | "@channel", "text": "..."}
//
// The URL holds the bot token (a secret): never log a request's URL. Errors of the HTTP
// client name only scheme, host and port.
//
// Answers:
//   200                      sent (the message id is kept for the log)
//   429                      retryable, waiting Retry-After (the header, or the body's
//                            parameters.retry_after); every send waits with it (SendGate)
//   429 with a Retry-After beyond max_retry_after (default 300 s), negative or not a
//                            whole number: not honoured. A failure to retry later
//                            (TelegramRetryAfterRefused: the policy's backoff, then the
//                            dead-letter path, where dlq-retrier tries again); the gate
//                            closes for the cap at most (the default wait for a value that
//                            is no number). A day-long or absurd value can neither close
//                            the gate for a day nor overflow steady_clock arithmetic.
//   5xx, 408, timeout, I/O   retryable
//   other 4xx (400/403/404)  fatal: the same message would fail again (dead letter)
//
// A timeout, or a connection lost after the request was written (http-timeout,
// http-io), is a MAYBE SENT: Telegram may have delivered the message and we cannot ask
// (sendMessage has no idempotency key). We resend it: the in-process retry (and a later
// redelivery) sends the message again. Not resending would turn every such case into a
// notification lost for good (the record would be acknowledged with no message), and
// for payments a repeated notice is the lesser harm. The claim on the event stays ours
// meanwhile (not released), so no other replica sends it at the same time, and each
// case is counted (telegram_maybe_sent_total) as a possible duplicate. A refused
// connection (http-connect) sent nothing.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "events/outcome.hpp"
#include "http/client.hpp"

namespace paypipe::notification_sender {

struct TelegramSettings {
  std::string base_url = "https://api.telegram.org";
  std::string bot_token;  // secret
  std::chrono::milliseconds timeout{30000};
  // A 429 that names no wait: wait this long.
  std::chrono::milliseconds default_retry_after{1000};
  // The longest Retry-After honoured; a longer one is a failure to retry later.
  std::chrono::milliseconds max_retry_after{300000};
};

http::ClientRequest send_message_request(const TelegramSettings& settings, std::string_view chat_id,
                                         std::string_view text);

// Why a send failed, for metrics ("failed by reason").
enum class SendFailure { none, rate_limited, server_error, timeout, connection, rejected };
const char* to_string(SendFailure failure);

struct SendVerdict {
  events::Outcome outcome;
  SendFailure failure = SendFailure::none;
  std::optional<std::int64_t> message_id;               // on success
  std::optional<std::chrono::milliseconds> retry_after;  // on 429: how long the gate closes
  bool maybe_sent = false;  // timeout or I/O after writing: Telegram may have sent it
};

SendVerdict classify_telegram(const core::Result<http::ClientResponse>& answer,
                              std::chrono::milliseconds default_retry_after,
                              std::chrono::milliseconds max_retry_after = std::chrono::milliseconds(300000));

// What a 429 says about waiting: Retry-After in seconds from the header, else
// parameters.retry_after from Telegram's JSON body.
struct RetryAfter {
  enum class Kind { absent, usable, too_long, unusable } kind = Kind::absent;
  std::chrono::milliseconds wait{0};  // when usable: never more than the cap
};
RetryAfter telegram_retry_after(const http::ClientResponse& response, std::chrono::milliseconds max_retry_after);

}  // namespace paypipe::notification_sender
