#pragma once
// Telegram chats linked the way bots do, in PostgreSQL (migrations/020_telegram_links.sql):
//
//   1. the user's page asks POST /v1/telegram/link-tokens with the user's bearer token:
//      a random single-use token, short-lived (PAYPIPE_TELEGRAM_LINK_TTL_MS), stored
//      hashed, and the deep link t.me/<bot>?start=<token>;
//   2. the user opens it; Telegram sends "/start <token>" to the bot's webhook, and the
//      chat it came from becomes the chat of the token's user (never of a user the
//      update names: the token alone says whose chat it is);
//   3. "/stop" in that chat forgets it.
// The chats linked here come before PAYPIPE_TELEGRAM_CHAT_IDS, which remains for tests
// and demos.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "notification_sender/messages.hpp"
#include "pg/pg.hpp"

namespace paypipe::notification_sender {

struct LinkToken {
  std::string token;  // given to the user once, never stored
  std::string expires_at;  // RFC 3339
};

struct LinkedChat {
  std::string chat_id;
  std::optional<Locale> locale;  // the chat's language when it is one of ours
};

// A new token for `user_id`, valid for `ttl`; it replaces the user's previous one, so a
// user holds one row at most however often they ask.
core::Result<LinkToken> create_link_token(pg::Connection& connection, const std::string& user_id,
                                          std::chrono::milliseconds ttl);

// Links `chat_id` to the user of `token` if the token is unused and unexpired, marking it
// used in the same statement. The user, or nullopt: unknown, used or expired.
core::Result<std::optional<std::string>> redeem_link_token(pg::Connection& connection, std::string_view token,
                                                           const std::string& chat_id, std::optional<Locale> locale);

// Forgets every user linked to `chat_id`; how many there were.
core::Result<std::int64_t> forget_chat(pg::Connection& connection, const std::string& chat_id);

// The linked chats of `user_ids` (those without one are absent).
core::Result<std::map<std::string, LinkedChat>> linked_chats(pg::Connection& connection,
                                                             const std::vector<std::string>& user_ids);

}  // namespace paypipe::notification_sender
