#pragma once
// The SQL of dead letters an operator handles before dlq-retrier reaches them
// (migrations/002_handled_dead_letters.sql): retried now (retried_dead_letters) or
// skipped (a parked_records row, reason SKIPPED).
//
// ONE RE-DELIVERY PER RECORD: an operator's retry-now and the retrier's republishing
// exclude each other through an advisory lock per deployment (its topic prefix): the
// retrier holds it SHARED (its instances own different partitions) from the moment it
// checks a batch against these tables until its Kafka transaction has committed; an
// operator holds it EXCLUSIVE while it checks that the record still waits (above the
// retrier's committed offset), sends it and records it. So either the retrier
// committed first (the record no longer waits: the operator is told so) or the
// operator's row exists before the retrier checks (the retrier skips the record).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dlq_retrier/parked.hpp"
#include "dlq_retrier/waiting.hpp"
#include "pg/pg.hpp"
#include "pg/pool.hpp"

namespace paypipe::dlq_retrier {

// `scope`: the deployment's topic prefix.
core::Status lock_shared_for_retrier(pg::Transaction& tx, const std::string& scope);
core::Status lock_for_operator(pg::Transaction& tx, const std::string& scope);

struct DeadLetterId {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  auto operator<=>(const DeadLetterId&) const = default;
};

// Offsets [from, end) of one partition.
struct OffsetRange {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t from = 0;
  std::int64_t end = 0;
};

enum class Handled { retried, parked };

// The records of `ranges` that were retried now or parked already.
core::Result<std::map<DeadLetterId, Handled>> handled_in(pg::Connection& connection,
                                                         const std::vector<OffsetRange>& ranges);

core::Result<std::optional<RetriedRecord>> find_retried(pg::Connection& connection, const DeadLetterId& id);
// Records a retry-now (a record retried already is left as it is).
core::Status insert_retried(pg::Transaction& tx, const RetriedRecord& retried);
// Deletes the retry-now records older than `retention` and says how many went. A record
// is needed only until the retrier passes its offset, at its due time (Config keeps the
// retention longer than every re-delivery delay), so old ones only fill the table.
core::Result<std::int64_t> prune_retried(pg::Connection& connection, std::chrono::hours retention);
// One pass of the periodic pruning (runtime::Periodic): prune_retried, its failure logged
// (the next pass tries again).
void prune_retried_pass(pg::Pool& pool, std::chrono::hours retention);
// The parked row of a dead letter, if it has one.
core::Result<std::optional<std::int64_t>> parked_id_of(pg::Connection& connection, const DeadLetterId& id);

}  // namespace paypipe::dlq_retrier
