#include "dlq_retrier/waiting_store.hpp"

#include <spdlog/spdlog.h>

namespace paypipe::dlq_retrier {

namespace {

// The lock's key: one per deployment, named by its topic prefix.
constexpr const char* lock_name = "dlq-retrier dead letters ";

}  // namespace

core::Status lock_shared_for_retrier(pg::Transaction& tx, const std::string& scope) {
  auto rows = tx.exec("SELECT pg_advisory_xact_lock_shared(hashtext($1))", lock_name + scope);
  if (!rows) return rows.error();
  return {};
}

core::Status lock_for_operator(pg::Transaction& tx, const std::string& scope) {
  auto rows = tx.exec("SELECT pg_advisory_xact_lock(hashtext($1))", lock_name + scope);
  if (!rows) return rows.error();
  return {};
}

core::Result<std::map<DeadLetterId, Handled>> handled_in(pg::Connection& connection,
                                                         const std::vector<OffsetRange>& ranges) {
  std::map<DeadLetterId, Handled> handled;
  if (ranges.empty()) return handled;
  std::vector<std::string> topics, partitions, froms, ends;
  for (const auto& r : ranges) {
    topics.push_back(r.topic);
    partitions.push_back(std::to_string(r.partition));
    froms.push_back(std::to_string(r.from));
    ends.push_back(std::to_string(r.end));
  }
  auto rows = connection.exec(
      "WITH ranges (topic, part, low, high) AS ("
      "  SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[]))"
      " SELECT r.dlq_topic, r.dlq_partition, r.dlq_offset, 'retried' FROM retried_dead_letters r"
      "   JOIN ranges g ON r.dlq_topic = g.topic AND r.dlq_partition = g.part"
      "    AND r.dlq_offset >= g.low AND r.dlq_offset < g.high"
      " UNION ALL"
      " SELECT p.dlq_topic, p.dlq_partition, p.dlq_offset, 'parked' FROM parked_records p"
      "   JOIN ranges g ON p.dlq_topic = g.topic AND p.dlq_partition = g.part"
      "    AND p.dlq_offset >= g.low AND p.dlq_offset < g.high",
      topics, partitions, froms, ends);
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) {
    DeadLetterId id{rows->str(i, 0), static_cast<std::int32_t>(rows->integer(i, 1)), rows->integer(i, 2)};
    // Retried wins: it is what the retrier must never send again.
    const auto kind = rows->str(i, 3) == "retried" ? Handled::retried : Handled::parked;
    auto [it, inserted] = handled.emplace(id, kind);
    if (!inserted && kind == Handled::retried) it->second = kind;
  }
  return handled;
}

core::Result<std::optional<RetriedRecord>> find_retried(pg::Connection& connection, const DeadLetterId& id) {
  auto rows = connection.exec("SELECT consumer_group, retry_topic, attempt, " + pg::rfc3339_sql("retried_at") +
                                  " FROM retried_dead_letters"
                                  " WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3",
                              id.topic, static_cast<std::int64_t>(id.partition), id.offset);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<RetriedRecord>();
  RetriedRecord r;
  r.group = rows->str(0, 0);
  r.topic = id.topic;
  r.partition = id.partition;
  r.offset = id.offset;
  r.retry_topic = rows->str(0, 1);
  r.attempt = static_cast<int>(rows->integer(0, 2));
  r.retried_at = rows->str(0, 3);
  r.already = true;
  return std::optional<RetriedRecord>(std::move(r));
}

core::Status insert_retried(pg::Transaction& tx, const RetriedRecord& r) {
  auto rows = tx.exec(
      "INSERT INTO retried_dead_letters (dlq_topic, dlq_partition, dlq_offset, consumer_group, retry_topic, attempt)"
      " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
      r.topic, static_cast<std::int64_t>(r.partition), r.offset, r.group, r.retry_topic, r.attempt);
  if (!rows) return rows.error();
  return {};
}

core::Result<std::int64_t> prune_retried(pg::Connection& connection, std::chrono::hours retention) {
  auto rows = connection.exec(
      "WITH pruned AS (DELETE FROM retried_dead_letters WHERE retried_at < now() - make_interval(hours => $1)"
      " RETURNING 1) SELECT count(*) FROM pruned",
      static_cast<std::int64_t>(retention.count()));
  if (!rows) return rows.error();
  return rows->integer(0, 0);
}

void prune_retried_pass(pg::Pool& pool, std::chrono::hours retention) {
  auto lease = pool.acquire();
  if (!lease) return;  // /readyz reports the database
  auto pruned = prune_retried(**lease, retention);
  if (!pruned) {
    spdlog::warn("cannot prune retried_dead_letters: {}", pruned.error().message);
  } else if (*pruned > 0) {
    spdlog::info("pruned {} retry-now records older than {} h", *pruned, retention.count());
  }
}

core::Result<std::optional<std::int64_t>> parked_id_of(pg::Connection& connection, const DeadLetterId& id) {
  auto rows = connection.exec(
      "SELECT id FROM parked_records WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3", id.topic,
      static_cast<std::int64_t>(id.partition), id.offset);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows->integer(0, 0));
}

}  // namespace paypipe::dlq_retrier
