#include "coupon_issuer/coupon_store.hpp"

namespace paypipe::coupon_issuer {

namespace {

const std::string coupon_columns = "id::text, name, discount, total_stock, remaining_stock, " +
                                   pg::rfc3339_sql("valid_from") + ", " + pg::rfc3339_sql("valid_until") + ", " +
                                   pg::rfc3339_sql("created_at");

StoredCoupon coupon_from(const pg::Rows& rows, int row) {
  return StoredCoupon{rows.str(row, 0),     rows.str(row, 1), rows.integer(row, 2), rows.integer(row, 3),
                      rows.integer(row, 4), rows.str(row, 5), rows.str(row, 6),     rows.str(row, 7)};
}

}  // namespace

core::Result<StoredCoupon> create_coupon(pg::Connection& connection, const std::string& id, const NewCoupon& coupon) {
  static const std::string sql =
      "INSERT INTO coupons (id, name, discount, total_stock, remaining_stock, valid_from, valid_until) "
      "VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING " +
      coupon_columns;
  auto rows = connection.exec(sql, id, coupon.name, coupon.discount, coupon.total_stock, coupon.valid_from,
                              coupon.valid_until);
  if (!rows) return rows.error();
  return coupon_from(*rows, 0);
}

core::Result<std::optional<StoredCoupon>> find_coupon(pg::Connection& connection, const std::string& coupon_id) {
  static const std::string sql = "SELECT " + coupon_columns + " FROM coupons WHERE id = $1";
  auto rows = connection.exec(sql, coupon_id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredCoupon>{};
  return std::optional<StoredCoupon>{coupon_from(*rows, 0)};
}

core::Result<std::set<std::string>> existing_coupons(pg::Connection& connection,
                                                     const std::vector<std::string>& coupon_ids) {
  auto rows = connection.exec("SELECT id::text FROM coupons WHERE id = ANY($1::uuid[])", coupon_ids);
  if (!rows) return rows.error();
  std::set<std::string> found;
  for (int i = 0; i < rows->size(); ++i) found.insert(rows->str(i, 0));
  return found;
}

core::Result<std::optional<StoredRequest>> find_request(pg::Connection& connection, const std::string& request_id) {
  static const std::string sql =
      "SELECT request_id::text, coupon_id::text, user_id, status, reason, "
      "issued_coupon_id::text, " +
      pg::rfc3339_sql("requested_at") + ", " + pg::rfc3339_sql("decided_at") + ", " + pg::rfc3339_sql("notified_at") +
      " FROM coupon_requests WHERE request_id = $1";
  auto rows = connection.exec(sql, request_id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredRequest>{};
  const auto& r = *rows;
  return std::optional<StoredRequest>{StoredRequest{r.str(0, 0), r.str(0, 1), r.str(0, 2), r.str(0, 3),
                                                    r.optional_str(0, 4), r.optional_str(0, 5), r.str(0, 6),
                                                    r.optional_str(0, 7), r.optional_str(0, 8)}};
}

core::Status mark_notified(pg::Connection& connection, const std::string& user_id,
                           const std::vector<std::string>& request_ids) {
  if (request_ids.empty()) return {};
  std::string array = "{";
  for (const auto& id : request_ids) array += (array.size() > 1 ? "," : "") + id;
  array += "}";
  auto rows = connection.exec(
      "UPDATE coupon_requests SET notified_at = now() WHERE request_id = ANY($1::uuid[]) AND user_id = $2 "
      "AND status <> 'PENDING' AND notified_at IS NULL",
      array, user_id);
  if (!rows) return rows.error();
  return {};
}

core::Result<std::vector<HeldCoupon>> user_coupons(pg::Connection& connection, const std::string& user_id,
                                                   std::int64_t limit) {
  static const std::string sql = "SELECT i.id::text, i.coupon_id::text, c.name, c.discount, " +
                                 pg::rfc3339_sql("c.valid_until") + ", " + pg::rfc3339_sql("i.issued_at") +
                                 ", i.request_id::text FROM issued_coupons i JOIN coupons c ON c.id = i.coupon_id "
                                 "WHERE i.user_id = $1 ORDER BY i.issued_at DESC, i.id LIMIT $2";
  auto rows = connection.exec(sql, user_id, limit);
  if (!rows) return rows.error();
  std::vector<HeldCoupon> held;
  held.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    held.push_back(HeldCoupon{rows->str(i, 0), rows->str(i, 1), rows->str(i, 2), rows->integer(i, 3), rows->str(i, 4),
                              rows->str(i, 5), rows->str(i, 6)});
  }
  return held;
}

core::Status record_pending(pg::Connection& connection, std::span<const PendingRequest> requests) {
  if (requests.empty()) return {};
  std::vector<std::string> ids, coupons, users, times;
  for (const auto& r : requests) {
    ids.push_back(r.request_id);
    coupons.push_back(r.coupon_id);
    users.push_back(r.user_id);
    times.push_back(r.requested_at);
  }
  auto rows = connection.exec(
      "INSERT INTO coupon_requests (request_id, coupon_id, user_id, status, requested_at) "
      "SELECT id, coupon_id, user_id, 'PENDING', at "
      "FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) AS r(id, coupon_id, user_id, at) "
      "ORDER BY id ON CONFLICT (request_id) DO NOTHING",
      ids, coupons, users, times);
  if (!rows) return rows.error();
  return {};
}

}  // namespace paypipe::coupon_issuer
