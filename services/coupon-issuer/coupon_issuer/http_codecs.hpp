#pragma once
// coupon-issuer's HTTP bodies: requests parsed from JSON (every bad field named),
// answers written as JSON. Pure: tests/unit/http_codecs_test.cpp.

#include <string>
#include <vector>

#include "core/error.hpp"
#include "coupon_issuer/coupon_store.hpp"
#include "http/http.hpp"

namespace paypipe::coupon_issuer {

// POST /v1/coupons: {name, discount, totalStock, validFrom, validUntil}, validFrom
// before validUntil.
core::Result<NewCoupon> parse_new_coupon(const http::Request& request);

// POST /v1/coupons/{couponId}/issue: the coupon from the path (a UUID), for the token's
// user `subject`; the body is empty, {} or {userId} naming that same user.
struct IssueRequest {
  std::string coupon_id;  // lower case
  std::string user_id;
};
core::Result<IssueRequest> parse_issue_request(const http::Request& request, std::string_view subject);

// A UUID path parameter, lower case; invalid_input naming it otherwise.
core::Result<std::string> uuid_param(const http::Request& request, const std::string& name);
// ?limit= within [1, max], `fallback` when absent.
core::Result<std::int64_t> limit_param(const http::Request& request, std::int64_t fallback, std::int64_t max);
// A user id path parameter ([A-Za-z0-9_.:-], 1 to 64).
core::Result<std::string> user_param(const http::Request& request);

std::string status_url(const std::string& request_id);
std::string coupon_json(const StoredCoupon& coupon);
// The 202 answer: the request is in Kafka and will be decided.
// Where a user watches their coupon requests get decided (the 202's streamUrl).
inline constexpr std::string_view request_stream_path = "/v1/coupon-requests/stream";

std::string accepted_json(const PendingRequest& request);
std::string request_json(const StoredRequest& request);
std::string user_coupons_json(const std::string& user_id, const std::vector<HeldCoupon>& coupons);

}  // namespace paypipe::coupon_issuer
