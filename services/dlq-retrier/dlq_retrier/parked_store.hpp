#pragma once
// dlq-retrier's SQL: the parked_records table (migrations/001_parked.sql).
// Statements take a connection or a transaction the caller opened; errors are the pg
// library's (unavailable for connection trouble, conflict for constraints).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dlq_retrier/parked.hpp"
#include "dlq_retrier/parked_codec.hpp"
#include "pg/pg.hpp"

namespace paypipe::dlq_retrier {

// Parks `records` in `tx`, idempotently: a dead letter parked already (same dlq topic,
// partition and offset) is left as it is. Returns the rows that are new, with their ids.
core::Result<std::vector<ParkedRecord>> insert_parked(pg::Transaction& tx, std::span<const ParkedRecord> records);

// One page of `query`, in id order. `topic_prefix` lets the topic filter take logical names.
core::Result<ParkedPage> list_parked(pg::Connection& connection, const ParkedQuery& query,
                                     const std::string& topic_prefix);

// One row; with `for_update`, locked until the caller's transaction ends.
core::Result<std::optional<ParkedRecord>> find_parked(pg::Connection& connection, std::int64_t id,
                                                      bool for_update = false);

// Up to `limit` PARKED rows of `group` with id <= `max_id`, locked (SKIP LOCKED: rows a
// concurrent replay holds are left to it).
core::Result<std::vector<ParkedRecord>> lock_parked_of_group(pg::Transaction& tx, const std::string& group,
                                                             std::int64_t max_id, std::size_t limit);
// The newest PARKED id of `group` (0 if none): a replay of a group stops there, so records
// that fail again while it runs are not replayed again by the same request.
core::Result<std::int64_t> newest_parked_id(pg::Connection& connection, const std::string& group);

core::Status mark_replayed(pg::Transaction& tx, const std::vector<std::int64_t>& ids);
// Marks the row PURGED (a no-op if it is already); nullopt if there is no such row.
core::Result<std::optional<ParkedRecord>> purge_parked(pg::Connection& connection, std::int64_t id);

// Rows per (group, status), for the metrics.
core::Result<std::map<std::pair<std::string, std::string>, std::int64_t>> count_parked(pg::Connection& connection);

// The headers column: JSON with base64 values, and back. Exposed for tests.
std::string headers_to_json(const events::KafkaHeaders& headers);
core::Result<events::KafkaHeaders> headers_from_json(std::string_view json);

}  // namespace paypipe::dlq_retrier
