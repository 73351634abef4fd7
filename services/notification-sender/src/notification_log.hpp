#pragma once
// The log of what notification-sender sent (table `notifications`, one row per event
// id). Written in batches after Telegram accepted the messages; read in batches before
// sending, so a redelivered event is recognised and not sent again. Each call is one
// statement, whatever the batch size: the database never sees a query per message.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pg/pg.hpp"

namespace paypipe::notification_sender {

struct LogEntry {
  std::string event_id;
  std::string event_type;
  std::string user_id;
  std::string status;  // SENT | SKIPPED
  std::optional<std::string> chat_id;
  std::string reason;  // why SKIPPED (no-chat); empty when SENT
  std::string locale;
  std::string text;
  std::string payment_id;  // empty: none
  std::string order_id;
  std::string request_id;
  std::optional<std::int64_t> telegram_message_id;
  std::string sent_at;  // RFC 3339, filled when read
  std::int64_t seq = 0;  // filled when read
};

// The ids among `event_ids` that the log already holds.
core::Result<std::set<std::string>> logged_among(pg::Connection& connection, const std::vector<std::string>& event_ids);

// Inserts the entries in one statement; an id already logged is left as it is.
core::Status record(pg::Connection& connection, const std::vector<LogEntry>& entries);

struct LogPage {
  std::vector<LogEntry> items;
  std::optional<std::int64_t> next_after;  // the cursor of the next page, if there may be one
};

// Oldest first, after the cursor `after` (0: from the start), at most `limit` entries.
core::Result<LogPage> list_log(pg::Connection& connection, const std::optional<std::string>& user_id, int limit,
                               std::int64_t after);

}  // namespace paypipe::notification_sender
