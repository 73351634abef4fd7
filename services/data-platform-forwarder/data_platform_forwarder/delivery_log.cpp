#include "data_platform_forwarder/delivery_log.hpp"

namespace paypipe::data_platform_forwarder {

namespace {

const std::string& columns() {
  static const std::string text =
      "seq, event_id::text, event_type, event_key, status, attempts, last_http_status, "
      "last_error, " +
      pg::rfc3339_sql("created_at") + ", " + pg::rfc3339_sql("updated_at") + ", " + pg::rfc3339_sql("completed_at");
  return text;
}

Delivery delivery_from(const pg::Rows& rows, int i) {
  Delivery d;
  d.seq = rows.integer(i, 0);
  d.event_id = rows.str(i, 1);
  d.event_type = rows.str(i, 2);
  d.event_key = rows.str(i, 3);
  d.status = rows.str(i, 4);
  d.attempts = static_cast<int>(rows.integer(i, 5));
  d.last_http_status = rows.optional_integer(i, 6);
  d.last_error = rows.optional_str(i, 7);
  d.created_at = rows.str(i, 8);
  d.updated_at = rows.str(i, 9);
  d.completed_at = rows.optional_str(i, 10);
  return d;
}

}  // namespace

core::Result<std::map<std::string, TryClaim>> start_tries(pg::Connection& connection,
                                                          const std::vector<TryStart>& tries, const std::string& owner,
                                                          std::chrono::milliseconds lease) {
  std::map<std::string, TryClaim> result;
  if (tries.empty()) return result;
  std::vector<std::string> ids, types, keys;
  for (const auto& t : tries) {
    ids.push_back(t.event_id);
    types.push_back(t.event_type);
    keys.push_back(t.event_key);
  }
  // Two statements, two commits: PUBLISHED is durable even if the process dies before
  // the try starts.
  auto seen = connection.exec(
      "INSERT INTO deliveries (event_id, event_type, event_key, status) "
      "SELECT id::uuid, type, key, 'PUBLISHED' FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, type, key) "
      "ON CONFLICT (event_id) DO NOTHING",
      ids, types, keys);
  if (!seen) return seen.error();
  // The rows are locked (ORDER BY: two batches never deadlock) and read as they are now,
  // so of two owners racing for a claim exactly one wins and the other finds it held.
  auto rows = connection.exec(
      "WITH cur AS (SELECT event_id, status, claim_owner, claim_until, claim_until < now() AS expired "
      "             FROM deliveries WHERE event_id = ANY($1::text[]::uuid[]) ORDER BY event_id FOR UPDATE), "
      "claimed AS ( "
      "  UPDATE deliveries d SET status = 'IN_PROGRESS', attempts = d.attempts + 1, updated_at = now(), "
      "    claim_owner = $2, claim_until = now() + make_interval(secs => $3::bigint / 1000.0), "
      "    takeovers = d.takeovers + CASE WHEN cur.claim_owner IS NOT NULL AND cur.claim_owner <> $2 THEN 1 ELSE 0 END "
      "  FROM cur WHERE d.event_id = cur.event_id AND cur.status <> 'COMPLETED' "
      "    AND (cur.claim_owner IS NULL OR cur.claim_owner = $2 OR cur.expired) "
      "  RETURNING d.event_id, d.attempts) "
      "SELECT cur.event_id::text, "
      "  CASE WHEN cur.status = 'COMPLETED' THEN 'completed' "
      "       WHEN c.event_id IS NULL THEN 'held' "
      "       WHEN cur.claim_owner IS NOT NULL AND cur.claim_owner <> $2 THEN 'taken_over' ELSE 'claimed' END, "
      "  coalesce(c.attempts, 0), coalesce(cur.claim_owner, ''), "
      "  coalesce(greatest(0, extract(epoch FROM (cur.claim_until - now())) * 1000)::bigint, 0) "
      "FROM cur LEFT JOIN claimed c ON c.event_id = cur.event_id",
      ids, owner, static_cast<std::int64_t>(lease.count()));
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) {
    TryClaim c;
    const auto state = rows->str(i, 1);
    c.state = state == "completed"    ? TryClaim::State::completed
              : state == "held"       ? TryClaim::State::held
              : state == "taken_over" ? TryClaim::State::taken_over
                                      : TryClaim::State::claimed;
    c.attempt = static_cast<int>(rows->integer(i, 2));
    c.holder = rows->str(i, 3);
    c.held_for = std::chrono::milliseconds(rows->integer(i, 4));
    result[rows->str(i, 0)] = std::move(c);
  }
  return result;
}

core::Status end_tries(pg::Connection& connection, const std::vector<TryEnd>& ends, const std::string& owner) {
  if (ends.empty()) return {};
  std::vector<std::string> ids, statuses, codes, errors;
  for (const auto& e : ends) {
    ids.push_back(e.event_id);
    statuses.push_back(to_string(e.status));
    codes.push_back(e.http_status ? std::to_string(*e.http_status) : "");
    errors.push_back(e.error);
  }
  auto rows = connection.exec(
      "UPDATE deliveries d SET status = t.status, last_http_status = NULLIF(t.code, '')::integer, "
      "last_error = CASE WHEN t.error = '' THEN d.last_error ELSE t.error END, updated_at = now(), "
      "completed_at = CASE WHEN t.status = 'COMPLETED' THEN now() ELSE d.completed_at END, "
      "claim_owner = CASE WHEN d.claim_owner = $5 THEN NULL ELSE d.claim_owner END, "
      "claim_until = CASE WHEN d.claim_owner = $5 THEN NULL ELSE d.claim_until END "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, status, code, error) "
      "WHERE d.event_id = t.id::uuid AND d.status <> 'COMPLETED' "
      "AND (d.claim_owner IS NULL OR d.claim_owner = $5 OR t.status = 'COMPLETED')",
      ids, statuses, codes, errors, owner);
  if (!rows) return rows.error();
  return {};
}

core::Result<DeliveryPage> list_deliveries(pg::Connection& connection, std::optional<DeliveryStatus> status, int limit,
                                           std::int64_t after) {
  auto rows = status ? connection.exec("SELECT " + columns() +
                                           " FROM deliveries WHERE status = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                                       std::string(to_string(*status)), after, limit)
                     : connection.exec("SELECT " + columns() + " FROM deliveries WHERE seq > $1 ORDER BY seq LIMIT $2",
                                       after, limit);
  if (!rows) return rows.error();
  DeliveryPage page;
  for (int i = 0; i < rows->size(); ++i) page.items.push_back(delivery_from(*rows, i));
  if (limit > 0 && static_cast<int>(page.items.size()) == limit) page.next_after = page.items.back().seq;
  return page;
}

core::Result<std::optional<Delivery>> find_delivery(pg::Connection& connection, const std::string& event_id) {
  auto rows = connection.exec("SELECT " + columns() + " FROM deliveries WHERE event_id = $1::uuid", event_id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Delivery>{};
  return std::optional<Delivery>(delivery_from(*rows, 0));
}

}  // namespace paypipe::data_platform_forwarder
