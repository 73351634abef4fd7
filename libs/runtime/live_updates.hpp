#pragma once
// Live updates of one daemon's state to its users (docs/architecture.md "Live updates"):
// the hub (http/stream_hub.hpp) reading the daemon's updates table (read_updates: the
// users signalled since the last read, in one statement), fed by
//   - a TailReader on the topics that announce the daemon's changes (each record's
//     data.userId says whose stream to read), so every replica hears every change;
//   - a tail of the table itself every `poll` (the users with updates since the last
//     look), for changes no record announces (an order advanced by an admin) and
//     records the feed missed;
// and prunes updates older than `retention`.
//
// The updates table, one per owning daemon, written by triggers in the transaction of
// each state change (libs/events/migrations/000_live_updates.sql; the tables in e.g.
// services/order-processor/migrations/020_order_updates.sql, the triggers in 021):
//   <table> (user_id text, id bigint, type text, data jsonb, created_at timestamptz,
//            PRIMARY KEY (user_id, id))
// with ids per user gap-free and in commit order (a per-user counter row, locked until
// the change commits).
//
// Settings (every streaming daemon):
//   PAYPIPE_STREAM_MAX_PER_USER      open streams per user on one replica (default 8)
//   PAYPIPE_STREAM_MAX_CONNECTIONS   open streams on one replica (default 10000)
//   PAYPIPE_STREAM_BUFFER_BYTES      unsent bytes per stream before a live client is cut (default 262144)
//   PAYPIPE_STREAM_HEARTBEAT_MS      SSE comment / WebSocket ping interval (default 15000)
//   PAYPIPE_STREAM_POLL_MS           the table's tail is read this often (default 1000)
//   PAYPIPE_STREAM_RETENTION_HOURS   updates kept for resuming (default 24)

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/env.hpp"
#include "events/kafka.hpp"
#include "http/stream_hub.hpp"
#include "pg/pool.hpp"

namespace paypipe::runtime {

struct LiveUpdateSettings {
  http::StreamLimits limits;
  std::chrono::milliseconds poll{1000};
  std::chrono::hours retention{24};

  static LiveUpdateSettings read(core::Env& env);
};

// The hub's reader over `table`: every read of the batch in one statement (the reads of
// a user's latest, from streams opening "from now", in a second), a page of at most
// `limit` rows per user; a resumed read whose first row is not the next id starts with
// a "reset" (its updates were pruned).
core::Result<std::vector<std::vector<http::StreamEvent>>> read_updates(pg::Connection& connection,
                                                                       const std::string& table,
                                                                       const std::vector<http::UpdateRead>& reads,
                                                                       std::size_t limit);

class LiveUpdates {
 public:
  // `table` is one of our own identifiers (never input); `topics` logical names.
  LiveUpdates(const events::KafkaOptions& kafka, pg::Pool& pool, std::string table, std::vector<std::string> topics,
              LiveUpdateSettings settings);
  ~LiveUpdates();  // stop()
  LiveUpdates(const LiveUpdates&) = delete;
  LiveUpdates& operator=(const LiveUpdates&) = delete;

  const std::shared_ptr<http::StreamHub>& hub() const { return hub_; }
  core::Status start();
  void stop();  // the feed and the tail; open streams end with the HTTP server

  // The user a record is about: its data's userId (every order.*, payment.*, coupon.*
  // event carries one), if it decodes.
  static std::optional<std::string> user_of(const events::ConsumedRecord& record);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<http::StreamHub> hub_;
};

}  // namespace paypipe::runtime
