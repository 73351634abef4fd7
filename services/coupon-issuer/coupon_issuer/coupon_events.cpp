#include "coupon_issuer/coupon_events.hpp"

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"

namespace paypipe::coupon_issuer {

namespace {

template <typename Data>
events::Event event_of(const Data& data, std::string_view source) {
  return events::make_event(std::string(source), data.user_id, data);
}

}  // namespace

events::Event outcome_event(const CouponRequest& request, Verdict verdict, const std::string& issued_coupon_id,
                            const CouponBook& book, std::string_view source, const std::string& now) {
  if (verdict == Verdict::issued) {
    const auto& coupon = book.coupons.at(request.coupon_id);
    return event_of(contracts::CouponIssued{request.request_id, request.coupon_id, request.user_id, issued_coupon_id,
                                            coupon.name, coupon.discount, coupon.valid_until_text, now},
                    source);
  }
  return event_of(
      contracts::CouponRejected{request.request_id, request.coupon_id, request.user_id, reason_of(verdict), now},
      source);
}

}  // namespace paypipe::coupon_issuer
