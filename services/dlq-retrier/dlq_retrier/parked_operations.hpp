#pragma once
// What an operator does with parked records, shared by the HTTP API and the CLI:
// list, show, replay one, replay a group, purge.
//
// Replay sends the parked key, value and headers to retry.<group> with attempt = 1 (a
// fresh budget: the group's consumer tries it again, and it goes through dlq-retrier's
// retries again if it fails) and marks the row REPLAYED. The row is locked (FOR UPDATE)
// while the record is sent, so two operators replaying one row send it once; it is
// marked only after Kafka acknowledged the record (acks=all). A crash between that
// acknowledgement and the row's commit leaves the row PARKED although the record was
// sent: a second replay would send it again, which the consumers' event-id
// deduplication absorbs. We prefer that to the opposite order, where such a crash
// would mark a row REPLAYED that was never sent.

#include <cstdint>
#include <optional>
#include <string>

#include "dlq_retrier/parked.hpp"
#include "dlq_retrier/parked_codec.hpp"
#include "events/kafka.hpp"
#include "events/producer.hpp"
#include "pg/pool.hpp"

namespace paypipe::dlq_retrier {

class ParkedOperations {
 public:
  // `producer` sends replays (the plain idempotent producer); both must outlive this.
  ParkedOperations(pg::Pool& pool, events::Producer& producer, events::KafkaOptions options);

  core::Result<ParkedPage> list(const ParkedQuery& query);
  // not_found if there is no such row.
  core::Result<ParkedRecord> get(std::int64_t id);
  // not_found; conflict ("not-parked") unless the row is PARKED; unavailable if Kafka
  // did not acknowledge (the row stays PARKED).
  core::Result<ParkedRecord> replay(std::int64_t id);
  // Replays every PARKED row of `group` that exists when the call starts; returns how
  // many. Rows are sent in id order, in chunks, each chunk marked after its acks.
  core::Result<std::int64_t> replay_group(const std::string& group);
  // Marks the row PURGED (idempotent). not_found if there is no such row.
  core::Result<ParkedRecord> purge(std::int64_t id);

 private:
  pg::Pool& pool_;
  events::Producer& producer_;
  events::KafkaOptions options_;
};

}  // namespace paypipe::dlq_retrier
