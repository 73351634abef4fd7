#include "coupon_issuer/coupon_rules.hpp"

namespace paypipe::coupon_issuer {

std::string reason_of(Verdict verdict) {
  switch (verdict) {
    case Verdict::issued: return "";
    case Verdict::not_found: return "NOT_FOUND";
    case Verdict::expired: return "EXPIRED";
    case Verdict::already_issued: return "ALREADY_ISSUED";
    case Verdict::out_of_stock: return "OUT_OF_STOCK";
  }
  return "";
}

Verdict decide(const CouponRequest& request, CouponBook& book) {
  const auto it = book.coupons.find(request.coupon_id);
  if (it == book.coupons.end()) return Verdict::not_found;
  auto& coupon = it->second;
  if (request.requested_at < coupon.valid_from || request.requested_at >= coupon.valid_until) return Verdict::expired;
  if (coupon.holders.count(request.user_id)) return Verdict::already_issued;
  if (coupon.remaining_stock <= 0) return Verdict::out_of_stock;
  --coupon.remaining_stock;
  coupon.holders.insert(request.user_id);
  return Verdict::issued;
}

}  // namespace paypipe::coupon_issuer
