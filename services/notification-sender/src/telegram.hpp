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
//   5xx, 408, timeout, I/O   retryable
//   other 4xx (400/403/404)  fatal: the same message would fail again (dead letter)

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
  std::optional<std::chrono::milliseconds> retry_after;  // on 429
};

SendVerdict classify_telegram(const core::Result<http::ClientResponse>& answer,
                              std::chrono::milliseconds default_retry_after);

// Retry-After in seconds from the header, else parameters.retry_after from Telegram's
// JSON body; nullopt if neither holds a number.
std::optional<std::chrono::milliseconds> telegram_retry_after(const http::ClientResponse& response);

}  // namespace paypipe::notification_sender
