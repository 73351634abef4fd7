#include "dlq_retrier/parked_store.hpp"

#include "core/json.hpp"

namespace paypipe::dlq_retrier {

namespace {

const std::string& select_columns() {
  static const std::string columns =
      "id, consumer_group, status, reason, reason_detail, original_topic, original_partition, original_offset, "
      "(extract(epoch FROM original_timestamp) * 1000)::bigint, dlq_topic, dlq_partition, dlq_offset, record_key, "
      "record_value, headers::text, error_class, message, attempt, " +
      pg::rfc3339_sql("first_failed_at") + ", " + pg::rfc3339_sql("failed_at") + ", " + pg::rfc3339_sql("parked_at") +
      ", " + pg::rfc3339_sql("replayed_at") + ", " + pg::rfc3339_sql("purged_at") + ", replay_count";
  return columns;
}

core::Result<ParkedRecord> row_of(const pg::Rows& rows, int i) {
  ParkedRecord r;
  r.id = rows.integer(i, 0);
  r.group = rows.str(i, 1);
  r.status = rows.str(i, 2);
  r.reason = rows.str(i, 3);
  r.reason_detail = rows.str(i, 4);
  r.original_topic = rows.optional_str(i, 5).value_or("");
  r.original_partition = static_cast<std::int32_t>(rows.optional_integer(i, 6).value_or(-1));
  r.original_offset = rows.optional_integer(i, 7).value_or(-1);
  r.original_timestamp_ms = rows.optional_integer(i, 8);
  r.dlq_topic = rows.str(i, 9);
  r.dlq_partition = static_cast<std::int32_t>(rows.integer(i, 10));
  r.dlq_offset = rows.integer(i, 11);
  if (!rows.is_null(i, 12)) r.key = rows.bytes(i, 12);
  r.value = rows.bytes(i, 13);
  auto headers = headers_from_json(rows.text(i, 14));
  if (!headers) return headers.error();
  r.headers = std::move(headers).value();
  r.error_class = rows.str(i, 15);
  r.message = rows.str(i, 16);
  r.attempt = static_cast<int>(rows.integer(i, 17));
  r.first_failed_at = rows.optional_str(i, 18).value_or("");
  r.failed_at = rows.optional_str(i, 19).value_or("");
  r.parked_at = rows.optional_str(i, 20).value_or("");
  r.replayed_at = rows.optional_str(i, 21).value_or("");
  r.purged_at = rows.optional_str(i, 22).value_or("");
  r.replay_count = static_cast<int>(rows.integer(i, 23));
  return r;
}

core::Result<std::vector<ParkedRecord>> records_of(const pg::Rows& rows) {
  std::vector<ParkedRecord> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    auto r = row_of(rows, i);
    if (!r) return r.error();
    out.push_back(std::move(r).value());
  }
  return out;
}

std::optional<std::string> non_empty(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

std::string headers_to_json(const events::KafkaHeaders& headers) {
  core::json::Writer w;
  w.begin_array();
  for (const auto& h : headers) {
    w.begin_object();
    const bool exact = is_utf8(h.name) && h.name.find('\0') == std::string::npos;
    w.field("name", exact ? h.name : sanitize_utf8(h.name));
    if (!exact) w.field("nameBase64", base64_encode(h.name));
    w.field("value", base64_encode(h.value));
    w.end_object();
  }
  return w.end_array().take();
}

core::Result<events::KafkaHeaders> headers_from_json(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  auto bad = [] {
    return core::make_error(core::ErrorCategory::internal, "bad-stored-headers",
                            "a parked row's headers are malformed");
  };
  if (!doc->IsArray()) return bad();
  events::KafkaHeaders headers;
  for (const auto& item : doc->GetArray()) {
    if (!item.IsObject() || !item.HasMember("name") || !item["name"].IsString() || !item.HasMember("value") ||
        !item["value"].IsString()) {
      return bad();
    }
    events::KafkaHeader h;
    h.name.assign(item["name"].GetString(), item["name"].GetStringLength());
    if (item.HasMember("nameBase64") && item["nameBase64"].IsString()) {
      auto exact = base64_decode({item["nameBase64"].GetString(), item["nameBase64"].GetStringLength()});
      if (!exact) return bad();
      h.name = std::move(*exact);
    }
    auto value = base64_decode({item["value"].GetString(), item["value"].GetStringLength()});
    if (!value) return bad();
    h.value = std::move(*value);
    headers.push_back(std::move(h));
  }
  return headers;
}

core::Result<std::vector<ParkedRecord>> insert_parked(pg::Transaction& tx, std::span<const ParkedRecord> records) {
  static const std::string sql =
      "INSERT INTO parked_records (consumer_group, reason, reason_detail, original_topic, original_partition, "
      "original_offset, original_timestamp, dlq_topic, dlq_partition, dlq_offset, record_key, record_value, headers, "
      "error_class, message, attempt, first_failed_at, failed_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint::double precision / 1000), $8, $9, $10, $11::bytea, "
      "$12::bytea, $13::jsonb, $14, $15, $16, $17::timestamptz, $18::timestamptz) "
      "ON CONFLICT ON CONSTRAINT parked_records_dead_letter DO NOTHING RETURNING id";
  std::vector<ParkedRecord> inserted;
  for (const auto& r : records) {
    // Text columns hold what foreign headers say: made valid UTF-8 (the bytes stay exact
    // in record_key, record_value and headers).
    // Absent numbers as SQL NULL (built as parameters directly: GCC 12 misreads
    // optional<int64_t> here as maybe-uninitialised).
    const pg::Param partition = r.original_partition >= 0 ? pg::to_param(std::int64_t{r.original_partition})
                                                          : std::nullopt;
    const pg::Param offset = r.original_offset >= 0 ? pg::to_param(r.original_offset) : std::nullopt;
    const pg::Param timestamp = r.original_timestamp_ms && *r.original_timestamp_ms >= 0
                                    ? pg::to_param(*r.original_timestamp_ms)
                                    : std::nullopt;
    const std::optional<pg::Bytea> key = r.key ? std::optional<pg::Bytea>(pg::Bytea{*r.key}) : std::nullopt;
    auto rows = tx.exec(sql, sanitize_utf8(r.group), r.reason, sanitize_utf8(r.reason_detail),
                        non_empty(sanitize_utf8(r.original_topic)), partition, offset, timestamp,
                        sanitize_utf8(r.dlq_topic), static_cast<std::int64_t>(r.dlq_partition), r.dlq_offset, key,
                        pg::Bytea{r.value}, headers_to_json(r.headers), sanitize_utf8(r.error_class),
                        sanitize_utf8(r.message), r.attempt, non_empty(r.first_failed_at), non_empty(r.failed_at));
    if (!rows) return rows.error();
    if (!rows->empty()) {
      inserted.push_back(r);
      inserted.back().id = rows->integer(0, 0);
    }
  }
  return inserted;
}

core::Result<ParkedPage> list_parked(pg::Connection& connection, const ParkedQuery& query,
                                     const std::string& topic_prefix) {
  const std::string sql = "SELECT " + select_columns() +
                          " FROM parked_records"
                          " WHERE id > $1"
                          " AND ($2::text IS NULL OR consumer_group = $2)"
                          " AND ($3::text IS NULL OR original_topic = $3 OR original_topic = $4)"
                          " AND ($5::text IS NULL OR error_class = $5)"
                          " AND ($6::text IS NULL OR status = $6)"
                          " ORDER BY id LIMIT $7";
  const std::optional<std::string> prefixed = query.topic ? std::optional<std::string>(topic_prefix + *query.topic)
                                                          : std::nullopt;
  auto rows = connection.exec(sql, query.after_id, query.group, query.topic, prefixed, query.error_class, query.status,
                              static_cast<std::int64_t>(query.limit + 1));
  if (!rows) return rows.error();
  auto records = records_of(*rows);
  if (!records) return records.error();
  ParkedPage page;
  page.items = std::move(records).value();
  if (page.items.size() > query.limit) {
    page.items.resize(query.limit);
    page.next_after_id = page.items.back().id;
  }
  return page;
}

core::Result<std::optional<ParkedRecord>> find_parked(pg::Connection& connection, std::int64_t id, bool for_update) {
  auto rows = connection.exec(
      "SELECT " + select_columns() + " FROM parked_records WHERE id = $1" + (for_update ? " FOR UPDATE" : ""), id);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<ParkedRecord>();
  auto record = row_of(*rows, 0);
  if (!record) return record.error();
  return std::optional<ParkedRecord>(std::move(record).value());
}

core::Result<std::vector<ParkedRecord>> lock_parked_of_group(pg::Transaction& tx, const std::string& group,
                                                             std::int64_t max_id, std::size_t limit) {
  auto rows = tx.exec("SELECT " + select_columns() +
                          " FROM parked_records WHERE consumer_group = $1 AND status = 'PARKED' AND id <= $2"
                          " ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
                      group, max_id, static_cast<std::int64_t>(limit));
  if (!rows) return rows.error();
  return records_of(*rows);
}

core::Result<std::int64_t> newest_parked_id(pg::Connection& connection, const std::string& group) {
  auto rows = connection.exec(
      "SELECT coalesce(max(id), 0) FROM parked_records WHERE consumer_group = $1 AND status = 'PARKED'", group);
  if (!rows) return rows.error();
  return rows->integer(0, 0);
}

core::Status mark_replayed(pg::Transaction& tx, const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return {};
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (const auto id : ids) texts.push_back(std::to_string(id));
  auto rows = tx.exec(
      "UPDATE parked_records SET status = 'REPLAYED', replayed_at = now(), replay_count = replay_count + 1"
      " WHERE id = ANY($1::bigint[])",
      texts);
  if (!rows) return rows.error();
  return {};
}

core::Result<std::optional<ParkedRecord>> purge_parked(pg::Connection& connection, std::int64_t id) {
  auto updated = connection.exec(
      "UPDATE parked_records SET status = 'PURGED', purged_at = now() WHERE id = $1 AND status <> 'PURGED'", id);
  if (!updated) return updated.error();
  return find_parked(connection, id);
}

core::Result<std::map<std::pair<std::string, std::string>, std::int64_t>> count_parked(pg::Connection& connection) {
  auto rows = connection.exec("SELECT consumer_group, status, count(*) FROM parked_records GROUP BY 1, 2");
  if (!rows) return rows.error();
  std::map<std::pair<std::string, std::string>, std::int64_t> counts;
  for (int i = 0; i < rows->size(); ++i) counts[{rows->str(i, 0), rows->str(i, 1)}] = rows->integer(i, 2);
  return counts;
}

}  // namespace paypipe::dlq_retrier
