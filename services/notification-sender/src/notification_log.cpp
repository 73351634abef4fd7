#include "src/notification_log.hpp"

namespace paypipe::notification_sender {

core::Result<std::set<std::string>> logged_among(pg::Connection& connection,
                                                 const std::vector<std::string>& event_ids) {
  auto rows = connection.exec("SELECT event_id::text FROM notifications WHERE event_id = ANY($1::uuid[])",
                              event_ids);
  if (!rows) return rows.error();
  std::set<std::string> found;
  for (int i = 0; i < rows->size(); ++i) found.insert(rows->str(i, 0));
  return found;
}

core::Status record(pg::Connection& connection, const std::vector<LogEntry>& entries) {
  if (entries.empty()) return {};
  std::vector<std::string> ids, types, users, statuses, chats, locales, texts, payments, orders, requests, message_ids,
      reasons;
  for (const auto& e : entries) {
    ids.push_back(e.event_id);
    types.push_back(e.event_type);
    users.push_back(e.user_id);
    statuses.push_back(e.status);
    chats.push_back(e.chat_id.value_or(""));
    locales.push_back(e.locale);
    texts.push_back(e.text);
    payments.push_back(e.payment_id);
    orders.push_back(e.order_id);
    requests.push_back(e.request_id);
    message_ids.push_back(e.telegram_message_id ? std::to_string(*e.telegram_message_id) : "");
    reasons.push_back(e.reason);
  }
  // Empty strings stand for NULL in the arrays (our array parameters carry text only).
  auto rows = connection.exec(
      "INSERT INTO notifications (event_id, event_type, user_id, status, chat_id, locale, text, payment_id, "
      "order_id, request_id, telegram_message_id, reason) "
      "SELECT id::uuid, type, usr, status, NULLIF(chat, ''), locale, body, NULLIF(payment, '')::uuid, "
      "NULLIF(ord, '')::uuid, NULLIF(req, '')::uuid, NULLIF(msg, '')::bigint, NULLIF(why, '') "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
      "$8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) "
      "AS t(id, type, usr, status, chat, locale, body, payment, ord, req, msg, why) "
      "ON CONFLICT (event_id) DO NOTHING",
      ids, types, users, statuses, chats, locales, texts, payments, orders, requests, message_ids, reasons);
  if (!rows) return rows.error();
  return {};
}

core::Result<LogPage> list_log(pg::Connection& connection, const std::optional<std::string>& user_id, int limit,
                               std::int64_t after) {
  static const std::string columns =
      "seq, event_id::text, event_type, user_id, status, chat_id, locale, text, coalesce(payment_id::text, ''), "
      "coalesce(order_id::text, ''), coalesce(request_id::text, ''), telegram_message_id, " +
      pg::rfc3339_sql("sent_at") + ", coalesce(reason, '')";
  auto rows = user_id ? connection.exec("SELECT " + columns +
                                            " FROM notifications WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                                        *user_id, after, limit)
                      : connection.exec("SELECT " + columns + " FROM notifications WHERE seq > $1 ORDER BY seq LIMIT $2",
                                        after, limit);
  if (!rows) return rows.error();
  LogPage page;
  for (int i = 0; i < rows->size(); ++i) {
    LogEntry e;
    e.seq = rows->integer(i, 0);
    e.event_id = rows->str(i, 1);
    e.event_type = rows->str(i, 2);
    e.user_id = rows->str(i, 3);
    e.status = rows->str(i, 4);
    e.chat_id = rows->optional_str(i, 5);
    e.locale = rows->str(i, 6);
    e.text = rows->str(i, 7);
    e.payment_id = rows->str(i, 8);
    e.order_id = rows->str(i, 9);
    e.request_id = rows->str(i, 10);
    e.telegram_message_id = rows->optional_integer(i, 11);
    e.sent_at = rows->str(i, 12);
    e.reason = rows->str(i, 13);
    page.items.push_back(std::move(e));
  }
  if (static_cast<int>(page.items.size()) == limit && limit > 0) page.next_after = page.items.back().seq;
  return page;
}

}  // namespace paypipe::notification_sender
