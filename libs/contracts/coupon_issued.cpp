#include "contracts/coupon_issued.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const CouponIssued& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("requestId", data.request_id);
  w.field("couponId", data.coupon_id);
  w.field("userId", data.user_id);
  w.field("issuedCouponId", data.issued_coupon_id);
  if (data.coupon_name) w.field("couponName", *data.coupon_name);
  w.field("discount", data.discount);
  if (data.valid_until) w.field("validUntil", *data.valid_until);
  w.field("issuedAt", data.issued_at);
  w.end_object();
  return w.take();
}

core::Result<CouponIssued> decode_coupon_issued(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  CouponIssued data;
  data.request_id = in.uuid("requestId");
  data.coupon_id = in.uuid("couponId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.issued_coupon_id = in.uuid("issuedCouponId");
  data.coupon_name = in.optional_text("couponName", core::json::TextRule{0, 200, false});
  data.discount = in.integer("discount", 0, max_amount);
  if (in.has("validUntil")) data.valid_until = in.timestamp("validUntil");
  data.issued_at = in.timestamp("issuedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
