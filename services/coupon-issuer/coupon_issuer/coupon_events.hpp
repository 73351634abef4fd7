#pragma once
// The event each decided coupon request announces: pure code, no database (unit-tested
// in tests/unit/coupon_events_test.cpp). coupon.issued and coupon.rejected are the
// contract with notification-sender; coupon_decider.cpp only writes them.

#include <string>
#include <string_view>

#include "coupon_issuer/coupon_rules.hpp"
#include "events/envelope.hpp"

namespace paypipe::coupon_issuer {

// coupon.issued (the coupon's name, discount and end of validity from `book`) for an
// issued request, coupon.rejected with reason_of(verdict) for any other. Keyed by the
// USER id (coupon_decider.hpp says why), from `source`, stamped `now` (RFC 3339), in
// the current trace.
events::Event outcome_event(const CouponRequest& request, Verdict verdict, const std::string& issued_coupon_id,
                            const CouponBook& book, std::string_view source, const std::string& now);

}  // namespace paypipe::coupon_issuer
