#pragma once
// The delivery log (table `deliveries`), written in batches: each call is one or two
// statements whatever the number of events, so the database never sees a query per
// delivery.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data_platform_forwarder/delivery_status.hpp"
#include "pg/pg.hpp"

namespace paypipe::data_platform_forwarder {

struct TryStart {
  std::string event_id;
  std::string event_type;
  std::string event_key;
};

// What start_tries says about one event.
struct TryClaim {
  enum class State {
    claimed,     // ours: send (attempt is this try's number)
    taken_over,  // another owner's expired claim, now ours: send, but it may have sent
    held,        // another owner's unexpired claim: do not send now
    completed,   // COMPLETED before: never send again
  } state = State::claimed;
  int attempt = 0;
  std::string holder;                     // held / taken_over: the other owner
  std::chrono::milliseconds held_for{0};  // held: the remaining lease (0 if unknown)
};

// Records the events as PUBLISHED if they are new (committed on its own: "seen"), then
// claims every one not COMPLETED whose claim is absent, ours or expired: IN_PROGRESS,
// one more attempt, claim_owner = `owner`, claim_until = now() + `lease`, committed
// before the call. Every event in `tries` gets an answer.
core::Result<std::map<std::string, TryClaim>> start_tries(pg::Connection& connection,
                                                          const std::vector<TryStart>& tries, const std::string& owner,
                                                          std::chrono::milliseconds lease);

struct TryEnd {
  std::string event_id;
  DeliveryStatus status = DeliveryStatus::failed;
  std::optional<int> http_status;
  std::string error;  // empty on success
};

// Writes the state after each try in one statement and clears `owner`'s claims. A
// COMPLETED row is never changed: a late failure of a duplicate try does not undo a
// delivery; and a failure reported by an owner whose claim was taken over meanwhile
// leaves the new owner's row alone (a success is written whoever holds the claim).
core::Status end_tries(pg::Connection& connection, const std::vector<TryEnd>& ends, const std::string& owner);

struct Delivery {
  std::int64_t seq = 0;
  std::string event_id;
  std::string event_type;
  std::string event_key;
  std::string status;
  int attempts = 0;
  std::optional<std::int64_t> last_http_status;
  std::optional<std::string> last_error;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> completed_at;
};

struct DeliveryPage {
  std::vector<Delivery> items;
  std::optional<std::int64_t> next_after;
};

// Oldest first after the cursor `after` (0: from the start), optionally one status.
core::Result<DeliveryPage> list_deliveries(pg::Connection& connection, std::optional<DeliveryStatus> status, int limit,
                                           std::int64_t after);
core::Result<std::optional<Delivery>> find_delivery(pg::Connection& connection, const std::string& event_id);

}  // namespace paypipe::data_platform_forwarder
