#include "notification_sender/telegram.hpp"

#include <algorithm>
#include <charconv>

#include "core/json.hpp"

namespace paypipe::notification_sender {

namespace {

constexpr std::string_view component = "notification-sender";

std::string error_class(std::string_view name) { return "paypipe." + std::string(component) + "." + std::string(name); }

std::optional<std::int64_t> whole_number(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// Telegram's "description", cut short: it goes into logs and dead-letter headers.
std::string description_of(const http::ClientResponse& response) {
  auto doc = core::json::parse(response.body);
  if (doc && doc->IsObject() && doc->HasMember("description") && (*doc)["description"].IsString()) {
    std::string text = (*doc)["description"].GetString();
    if (text.size() > 200) text.resize(200);
    return text;
  }
  return "no description";
}

}  // namespace

http::ClientRequest send_message_request(const TelegramSettings& settings, std::string_view chat_id,
                                         std::string_view text) {
  core::json::Writer w;
  w.begin_object().key("chat_id");
  // Numeric chat ids travel as numbers, as Telegram documents them; "@channel" as text.
  std::int64_t numeric = 0;
  const auto [end, ec] = std::from_chars(chat_id.data(), chat_id.data() + chat_id.size(), numeric);
  if (ec == std::errc() && end == chat_id.data() + chat_id.size()) w.value(numeric);
  else w.value(chat_id);
  w.field("text", text).end_object();
  http::ClientRequest request;
  request.method = "POST";
  request.url = settings.base_url + "/bot" + settings.bot_token + "/sendMessage";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = w.take();
  request.timeout = settings.timeout;
  return request;
}

const char* to_string(SendFailure failure) {
  switch (failure) {
    case SendFailure::none: return "none";
    case SendFailure::rate_limited: return "rate_limited";
    case SendFailure::server_error: return "server_error";
    case SendFailure::timeout: return "timeout";
    case SendFailure::connection: return "connection";
    case SendFailure::rejected: return "rejected";
  }
  return "none";
}

namespace {

// Seconds -> a wait within the cap, checked before any multiplication.
RetryAfter bounded(std::int64_t seconds, std::chrono::milliseconds max_retry_after) {
  if (seconds < 0) return {RetryAfter::Kind::unusable, {}};
  if (seconds > max_retry_after.count() / 1000 + 1) return {RetryAfter::Kind::too_long, {}};
  const std::chrono::milliseconds wait = std::chrono::seconds(seconds);
  if (wait > max_retry_after) return {RetryAfter::Kind::too_long, {}};
  return {RetryAfter::Kind::usable, wait};
}

}  // namespace

RetryAfter telegram_retry_after(const http::ClientResponse& response, std::chrono::milliseconds max_retry_after) {
  if (const auto header = response.header("Retry-After")) {
    if (const auto seconds = whole_number(*header)) return bounded(*seconds, max_retry_after);
    // Digits too many for int64 are a wait far too long, not garbage.
    std::string_view text = *header;
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    return {digits ? RetryAfter::Kind::too_long : RetryAfter::Kind::unusable, {}};
  }
  auto doc = core::json::parse(response.body);
  if (doc && doc->IsObject() && doc->HasMember("parameters") && (*doc)["parameters"].IsObject()) {
    const auto& parameters = (*doc)["parameters"];
    if (parameters.HasMember("retry_after")) {
      const auto& value = parameters["retry_after"];
      if (value.IsInt64()) return bounded(value.GetInt64(), max_retry_after);
      if (value.IsNumber() && value.GetDouble() > 0) return {RetryAfter::Kind::too_long, {}};
      return {RetryAfter::Kind::unusable, {}};
    }
  }
  return {};
}

SendVerdict classify_telegram(const core::Result<http::ClientResponse>& answer,
                              std::chrono::milliseconds default_retry_after,
                              std::chrono::milliseconds max_retry_after) {
  SendVerdict v;
  if (!answer) {
    const bool timed_out = answer.error().code == "http-timeout";
    // http-connect: nothing left this process. A timeout or I/O error came after the
    // connection was made: the request may have been read (see the header).
    v.maybe_sent = timed_out || answer.error().code == "http-io";
    v.failure = timed_out ? SendFailure::timeout : SendFailure::connection;
    v.outcome = events::Outcome::retry(error_class(timed_out ? "TelegramTimeout" : "TelegramUnreachable"),
                                       answer.error().message);
    return v;
  }
  const int status = answer->status;
  if (status >= 200 && status < 300) {
    auto doc = core::json::parse(answer->body);
    if (doc && doc->IsObject() && doc->HasMember("result") && (*doc)["result"].IsObject()) {
      const auto& result = (*doc)["result"];
      if (result.HasMember("message_id") && result["message_id"].IsInt64()) {
        v.message_id = result["message_id"].GetInt64();
      }
    }
    v.outcome = events::Outcome::ok();
    return v;
  }
  const std::string what = "Telegram answered " + std::to_string(status) + ": " + description_of(*answer);
  if (status == 429) {
    v.failure = SendFailure::rate_limited;
    const auto hint = telegram_retry_after(*answer, max_retry_after);
    switch (hint.kind) {
      case RetryAfter::Kind::usable:
      case RetryAfter::Kind::absent:
        v.retry_after = hint.kind == RetryAfter::Kind::usable ? hint.wait
                                                              : std::min(default_retry_after, max_retry_after);
        v.outcome = events::Outcome::retry(error_class("TelegramRateLimited"), what, v.retry_after);
        return v;
      case RetryAfter::Kind::too_long:
      case RetryAfter::Kind::unusable:
        v.retry_after = hint.kind == RetryAfter::Kind::too_long ? max_retry_after
                                                                : std::min(default_retry_after, max_retry_after);
        v.outcome = events::Outcome::retry(error_class("TelegramRetryAfterRefused"),
                                           what + " (Retry-After not honoured: beyond " +
                                               std::to_string(max_retry_after.count() / 1000) + " s or not a number)");
        return v;
    }
    return v;
  }
  if (status >= 500 || status == 408) {
    v.failure = SendFailure::server_error;
    v.outcome = events::Outcome::retry(error_class("TelegramUnavailable"), what);
    return v;
  }
  v.failure = SendFailure::rejected;
  v.outcome = events::Outcome::fail(error_class("TelegramRejected"), what);
  return v;
}

}  // namespace paypipe::notification_sender
