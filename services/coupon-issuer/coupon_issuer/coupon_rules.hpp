#pragma once
// First come, first served, as pure code: given what the database holds about a
// coupon (its window, its remaining stock, who already has it), decide each request
// in arrival order. No database, no Kafka: tests/unit/coupon_rules_test.cpp.
//
// A batch is decided one request after another against one CouponBook, which each
// decision updates, so the requests of one batch see each other exactly as requests
// decided one by one would (the last unit of stock, the same user twice).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/time.hpp"

namespace paypipe::coupon_issuer {

struct CouponState {
  std::string coupon_id;
  std::string name;
  std::int64_t discount = 0;
  std::int64_t remaining_stock = 0;
  core::SystemTime valid_from;
  core::SystemTime valid_until;  // exclusive
  std::string valid_until_text;  // RFC 3339, for the coupon.issued event
  std::set<std::string> holders;  // users known to hold it (those the batch asks about)
};

struct CouponBook {
  std::map<std::string, CouponState> coupons;  // by coupon id; absent = no such coupon
};

struct CouponRequest {
  std::string request_id;
  std::string coupon_id;
  std::string user_id;
  core::SystemTime requested_at;  // stamped by our HTTP side when the user asked
};

enum class Verdict { issued, not_found, expired, already_issued, out_of_stock };

// The reason written to coupon.rejected and coupon_requests ("OUT_OF_STOCK", ...);
// empty for issued.
std::string reason_of(Verdict verdict);

// Decides `request` and, when it is issued, updates `book` as the writes will (one
// unit of stock less, the user holds the coupon). The checks, in this order:
//   NOT_FOUND       the coupon does not exist
//   EXPIRED         requested outside [valid_from, valid_until): the window is judged at
//                   the time the user asked, not when the consumer got to the request,
//                   so a backlog never turns a request made in time into a refusal
//   ALREADY_ISSUED  the user holds it (before OUT_OF_STOCK: the more useful answer)
//   OUT_OF_STOCK    no stock left
Verdict decide(const CouponRequest& request, CouponBook& book);

}  // namespace paypipe::coupon_issuer
