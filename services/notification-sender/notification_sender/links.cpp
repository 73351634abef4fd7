#include "notification_sender/links.hpp"

#include "auth/secrets.hpp"

namespace paypipe::notification_sender {

core::Result<LinkToken> create_link_token(pg::Connection& connection, const std::string& user_id,
                                          std::chrono::milliseconds ttl) {
  LinkToken link{auth::random_token(), ""};
  auto rows = connection.exec(
      "WITH replaced AS (DELETE FROM telegram_link_tokens WHERE user_id = $2) "
      "INSERT INTO telegram_link_tokens (token_hash, user_id, expires_at) "
      "VALUES ($1, $2, now() + make_interval(secs => $3::bigint / 1000.0)) RETURNING " +
          pg::rfc3339_sql("expires_at"),
      auth::sha256_hex(link.token), user_id, static_cast<std::int64_t>(ttl.count()));
  if (!rows) return rows.error();
  link.expires_at = rows->str(0, 0);
  return link;
}

core::Result<std::optional<std::string>> redeem_link_token(pg::Connection& connection, std::string_view token,
                                                           const std::string& chat_id, std::optional<Locale> locale) {
  // One statement: the token is used and the chat linked together, or neither. Of two
  // updates racing with one token, the second finds used_at set.
  const std::optional<std::string> language = locale ? std::optional<std::string>(to_string(*locale)) : std::nullopt;
  auto rows = connection.exec(
      "WITH used AS (UPDATE telegram_link_tokens SET used_at = now() "
      "              WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id) "
      "INSERT INTO telegram_chats (user_id, chat_id, locale) SELECT user_id, $2, $3 FROM used "
      "ON CONFLICT (user_id) DO UPDATE SET chat_id = EXCLUDED.chat_id, locale = EXCLUDED.locale, linked_at = now() "
      "RETURNING user_id",
      auth::sha256_hex(token), chat_id, language);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>{};
  return std::optional<std::string>(rows->str(0, 0));
}

core::Result<std::int64_t> forget_chat(pg::Connection& connection, const std::string& chat_id) {
  auto rows = connection.exec("DELETE FROM telegram_chats WHERE chat_id = $1", chat_id);
  if (!rows) return rows.error();
  return rows->affected();
}

core::Result<std::map<std::string, LinkedChat>> linked_chats(pg::Connection& connection,
                                                             const std::vector<std::string>& user_ids) {
  std::map<std::string, LinkedChat> chats;
  if (user_ids.empty()) return chats;
  auto rows = connection.exec("SELECT user_id, chat_id, locale FROM telegram_chats WHERE user_id = ANY($1::text[])",
                              user_ids);
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) {
    const auto locale = rows->optional_str(i, 2);
    chats[rows->str(i, 0)] = LinkedChat{rows->str(i, 1), locale ? parse_locale(*locale) : std::nullopt};
  }
  return chats;
}

}  // namespace paypipe::notification_sender
