#pragma once
// coupon-issuer's SQL for the HTTP side: coupons, request outcomes, a user's coupons.
// (The decider's SQL is in coupon_decider.cpp, next to the batch it serves.)

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "pg/pg.hpp"

namespace paypipe::coupon_issuer {

struct NewCoupon {
  std::string name;
  std::int64_t discount = 0;
  std::int64_t total_stock = 0;
  std::string valid_from;   // RFC 3339
  std::string valid_until;  // RFC 3339
};

struct StoredCoupon {
  std::string id;
  std::string name;
  std::int64_t discount = 0;
  std::int64_t total_stock = 0;
  std::int64_t remaining_stock = 0;
  std::string valid_from;   // RFC 3339 UTC
  std::string valid_until;  // RFC 3339 UTC
  std::string created_at;   // RFC 3339 UTC
};

struct StoredRequest {
  std::string request_id;
  std::string coupon_id;
  std::string user_id;
  std::string status;                 // PENDING | ISSUED | REJECTED
  std::optional<std::string> reason;  // REJECTED only
  std::optional<std::string> issued_coupon_id;
  std::string requested_at;
  std::optional<std::string> decided_at;
  std::optional<std::string> notified_at;  // when the decision was written to the user's live stream
};

struct HeldCoupon {
  std::string issued_coupon_id;
  std::string coupon_id;
  std::string name;
  std::int64_t discount = 0;
  std::string valid_until;
  std::string issued_at;
  std::string request_id;
};

// A request Kafka acknowledged, not decided yet.
struct PendingRequest {
  std::string request_id;
  std::string coupon_id;
  std::string user_id;
  std::string requested_at;  // RFC 3339
};

core::Result<StoredCoupon> create_coupon(pg::Connection& connection, const std::string& id, const NewCoupon& coupon);
core::Result<std::optional<StoredCoupon>> find_coupon(pg::Connection& connection, const std::string& coupon_id);
// The ids among `coupon_ids` (UUIDs) that name a coupon: one indexed lookup for a batch.
core::Result<std::set<std::string>> existing_coupons(pg::Connection& connection,
                                                     const std::vector<std::string>& coupon_ids);
core::Result<std::optional<StoredRequest>> find_request(pg::Connection& connection, const std::string& request_id);

// The user's decided requests among `request_ids` were pushed to them: NOTIFIED (once).
core::Status mark_notified(pg::Connection& connection, const std::string& user_id,
                           const std::vector<std::string>& request_ids);
// Newest first, at most `limit`.
core::Result<std::vector<HeldCoupon>> user_coupons(pg::Connection& connection, const std::string& user_id,
                                                   std::int64_t limit);

// Records acknowledged requests as PENDING in one statement; a request already
// decided (the consumer was faster) keeps its decision.
core::Status record_pending(pg::Connection& connection, std::span<const PendingRequest> requests);

}  // namespace paypipe::coupon_issuer
