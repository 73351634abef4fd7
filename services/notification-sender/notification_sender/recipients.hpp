#pragma once
// Who gets a user's messages, and in which language. Pure: built once from the
// configuration, then read from any thread.
//
// Chat ids: an explicit map (PAYPIPE_TELEGRAM_CHAT_IDS "user=chat,...") first; a user
// without an entry is handled by the fallback rule (PAYPIPE_TELEGRAM_UNMAPPED_USERS):
//   skip          no message; the log records the event as SKIPPED with reason
//                 "no-chat" and notifications_skipped_total{reason="no-chat"} counts it
//                 (the default)
//   default-chat  every unmapped user's messages go to PAYPIPE_TELEGRAM_DEFAULT_CHAT_ID
//                 (an operations channel an operator chose)
// A user id is never taken as a chat id: anyone can name any user id in a request
// (a coupon request for chat 123456789), so that rule let strangers make the bot write
// to any chat. The bot writes only to chats the configuration names.
// We chose configuration over a table with an admin endpoint: the mapping changes with
// a deployment (a Secret or ConfigMap), needs no second write path, and a restart picks
// it up in milliseconds.
//
// Locales: PAYPIPE_NOTIFY_LOCALES "user=en,..." over PAYPIPE_NOTIFY_DEFAULT_LOCALE (ko).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "notification_sender/messages.hpp"

namespace paypipe::notification_sender {

enum class UnmappedUsers { skip, default_chat };

// Why an event got no message: the log's `reason` and the metric's label.
inline constexpr std::string_view skip_no_chat = "no-chat";

struct Recipients {
  std::map<std::string, std::string, std::less<>> chat_ids;
  UnmappedUsers unmapped = UnmappedUsers::skip;
  std::string default_chat_id;
  std::map<std::string, Locale, std::less<>> locales;
  Locale default_locale = Locale::ko;

  // The chat for `user_id`, or nullopt: do not send.
  std::optional<std::string> chat_for(std::string_view user_id) const;
  Locale locale_for(std::string_view user_id) const;
};

// Counts an event finished without a message: notifications_skipped_total{reason}.
void count_skipped(std::string_view reason);

// A Telegram chat id: a (possibly negative) integer, or "@channelusername".
bool is_chat_id(std::string_view text);

// Parses "key=value" items; every bad item is named in the error (invalid_input).
core::Result<std::map<std::string, std::string, std::less<>>> parse_pairs(const std::vector<std::string>& items);

}  // namespace paypipe::notification_sender
