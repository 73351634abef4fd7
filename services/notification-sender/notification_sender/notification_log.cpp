#include "notification_sender/notification_log.hpp"

namespace paypipe::notification_sender {

core::Result<std::set<std::string>> logged_among(pg::Connection& connection,
                                                 const std::vector<std::string>& event_ids) {
  auto rows = connection.exec("SELECT event_id::text FROM notifications WHERE event_id = ANY($1::uuid[])", event_ids);
  if (!rows) return rows.error();
  std::set<std::string> found;
  for (int i = 0; i < rows->size(); ++i) found.insert(rows->str(i, 0));
  return found;
}

core::Result<std::map<std::string, Claim>> claim(pg::Connection& connection, const std::vector<std::string>& event_ids,
                                                 const std::string& owner, std::chrono::milliseconds lease) {
  std::map<std::string, Claim> result;
  if (event_ids.empty()) return result;
  // `prior` and `logged` are the statement's snapshot; the upsert sees the latest
  // committed row (READ COMMITTED), so of two owners racing for a new or expired claim
  // exactly one wins and the other finds it held. A claim whose log row was written
  // meanwhile is done (never deleted): a runner with an older snapshot finds it "held"
  // and its retry finds it logged.
  auto rows = connection.exec(
      "WITH ids AS (SELECT DISTINCT unnest($1::text[])::uuid AS id), "
      "logged AS (SELECT n.event_id FROM notifications n WHERE n.event_id IN (SELECT id FROM ids)), "
      "prior AS (SELECT c.event_id, c.owner, c.lease_until, c.done FROM notification_claims c "
      "          WHERE c.event_id IN (SELECT id FROM ids)), "
      "taken AS ( "
      "  INSERT INTO notification_claims AS c (event_id, owner, lease_until) "
      "  SELECT id, $2, now() + make_interval(secs => $3::bigint / 1000.0) FROM ids "
      "  WHERE id NOT IN (SELECT event_id FROM logged) "
      "  ON CONFLICT (event_id) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, "
      "    claimed_at = now(), takeovers = c.takeovers + CASE WHEN c.owner <> EXCLUDED.owner THEN 1 ELSE 0 END "
      "  WHERE NOT c.done AND (c.owner = EXCLUDED.owner OR c.lease_until < now()) "
      "  RETURNING c.event_id) "
      "SELECT ids.id::text, "
      "  CASE WHEN l.event_id IS NOT NULL OR p.done THEN 'done' "
      "       WHEN t.event_id IS NOT NULL AND p.owner IS NOT NULL AND p.owner <> $2 THEN 'taken_over' "
      "       WHEN t.event_id IS NOT NULL THEN 'claimed' ELSE 'held' END, "
      "  coalesce(p.owner, ''), "
      "  CASE WHEN p.done THEN 0 "
      "       ELSE coalesce(greatest(0, extract(epoch FROM (p.lease_until - now())) * 1000)::bigint, 0) END "
      "FROM ids LEFT JOIN logged l ON l.event_id = ids.id LEFT JOIN taken t ON t.event_id = ids.id "
      "LEFT JOIN prior p ON p.event_id = ids.id",
      event_ids, owner, static_cast<std::int64_t>(lease.count()));
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) {
    Claim c;
    const auto state = rows->str(i, 1);
    c.state = state == "done"         ? Claim::State::done
              : state == "taken_over" ? Claim::State::taken_over
              : state == "claimed"    ? Claim::State::claimed
                                      : Claim::State::held;
    c.holder = rows->str(i, 2);
    c.held_for = std::chrono::milliseconds(rows->integer(i, 3));
    result[rows->str(i, 0)] = std::move(c);
  }
  return result;
}

core::Status release_claims(pg::Connection& connection, const std::vector<std::string>& event_ids,
                            const std::string& owner) {
  if (event_ids.empty()) return {};
  auto rows = connection.exec(
      "DELETE FROM notification_claims WHERE event_id = ANY($1::text[]::uuid[]) AND owner = $2 AND NOT done", event_ids,
      owner);
  if (!rows) return rows.error();
  return {};
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
      "WITH written AS ("
      "INSERT INTO notifications (event_id, event_type, user_id, status, chat_id, locale, text, payment_id, "
      "order_id, request_id, telegram_message_id, reason) "
      "SELECT id::uuid, type, usr, status, NULLIF(chat, ''), locale, body, NULLIF(payment, '')::uuid, "
      "NULLIF(ord, '')::uuid, NULLIF(req, '')::uuid, NULLIF(msg, '')::bigint, NULLIF(why, '') "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
      "$8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) "
      "AS t(id, type, usr, status, chat, locale, body, payment, ord, req, msg, why) "
      "ON CONFLICT (event_id) DO NOTHING RETURNING event_id) "
      "UPDATE notification_claims SET done = true WHERE event_id = ANY($1::text[]::uuid[])",
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
  auto rows = user_id
                  ? connection.exec("SELECT " + columns +
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
