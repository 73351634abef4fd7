#pragma once
// The bot's side of Telegram: updates pushed to our webhook (setWebhook with a
// secret_token; Telegram sends it back in X-Telegram-Bot-Api-Secret-Token), read as the
// commands we answer. Pure.
//
//   /start <link-token>   link this chat to the token's user (links.hpp)
//   /start                no token: the help text
//   /stop                 forget this chat
//   any other /command    the help text
// Everything else (plain text, edits, a member joining, a callback) is none: answered
// 200 and ignored, so Telegram does not redeliver it.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "notification_sender/messages.hpp"

namespace paypipe::notification_sender {

inline constexpr std::string_view webhook_secret_header = "X-Telegram-Bot-Api-Secret-Token";

struct BotCommand {
  enum class Kind { none, start, stop, other };
  Kind kind = Kind::none;
  std::string chat_id;   // where to answer; empty for none
  std::string argument;  // start: the link token ("" without one)
  std::optional<Locale> locale;  // the sender's language_code, when it is one of ours
};

// invalid_input when `body` is not a Telegram Update (an object with an integer update_id).
core::Result<BotCommand> parse_update(std::string_view body);

}  // namespace paypipe::notification_sender
