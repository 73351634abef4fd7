#pragma once
// The log of what notification-sender sent (table `notifications`, one row per event
// id). Written in batches after Telegram accepted the messages; read in batches before
// sending, so a redelivered event is recognised and not sent again. Each call is one
// statement, whatever the batch size: the database never sees a query per message.

#include <chrono>
#include <cstdint>
#include <map>
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

// The claim on an event before its Telegram call (table notification_claims).
struct Claim {
  enum class State {
    claimed,     // ours now (new, or ours already): send
    taken_over,  // another owner's expired claim, now ours: send, but it may have sent
    held,        // another owner's unexpired claim: do not send now
    done,        // logged already: never send again
  } state = State::claimed;
  std::string holder;                 // held: who holds it (when the statement saw it)
  std::chrono::milliseconds held_for{0};  // held: its lease's remaining time (0 if unknown)
};

// One statement for the batch, committed on return (autocommit): claims every id not
// logged yet whose claim is absent, ours, or expired, with lease_until = now() + lease.
// Every id in `event_ids` gets an answer.
core::Result<std::map<std::string, Claim>> claim(pg::Connection& connection, const std::vector<std::string>& event_ids,
                                                 const std::string& owner, std::chrono::milliseconds lease);

// Gives up `owner`'s claims on these ids that are not done (sent nothing: the next
// runner need not wait).
core::Status release_claims(pg::Connection& connection, const std::vector<std::string>& event_ids,
                            const std::string& owner);

// Inserts the entries in one statement; an id already logged is left as it is. The same
// statement marks the events' claims done: never claimed again.
core::Status record(pg::Connection& connection, const std::vector<LogEntry>& entries);

struct LogPage {
  std::vector<LogEntry> items;
  std::optional<std::int64_t> next_after;  // the cursor of the next page, if there may be one
};

// Oldest first, after the cursor `after` (0: from the start), at most `limit` entries.
core::Result<LogPage> list_log(pg::Connection& connection, const std::optional<std::string>& user_id, int limit,
                               std::int64_t after);

}  // namespace paypipe::notification_sender
