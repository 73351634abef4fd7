#pragma once
// The delivery log (table `deliveries`), written in batches: each call is one or two
// statements whatever the number of events, so the database never sees a query per
// delivery.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pg/pg.hpp"
#include "src/delivery_status.hpp"

namespace paypipe::data_platform_forwarder {

struct TryStart {
  std::string event_id;
  std::string event_type;
  std::string event_key;
};

// Records the events as PUBLISHED if they are new (committed on its own: "seen"), then
// moves every one not COMPLETED to IN_PROGRESS with one more attempt. Returns the
// attempt number of each event that may be sent; an event missing from the map is
// COMPLETED already and must not be sent again.
core::Result<std::map<std::string, int>> start_tries(pg::Connection& connection, const std::vector<TryStart>& tries);

struct TryEnd {
  std::string event_id;
  DeliveryStatus status = DeliveryStatus::failed;
  std::optional<int> http_status;
  std::string error;  // empty on success
};

// Writes the state after each try in one statement. A COMPLETED row is never changed:
// a late failure of a duplicate try does not undo a delivery.
core::Status end_tries(pg::Connection& connection, const std::vector<TryEnd>& ends);

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
