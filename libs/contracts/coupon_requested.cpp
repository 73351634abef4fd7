#include "contracts/coupon_requested.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const CouponRequested& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("requestId", data.request_id);
  w.field("couponId", data.coupon_id);
  w.field("userId", data.user_id);
  w.field("requestedAt", data.requested_at);
  w.end_object();
  return w.take();
}

core::Result<CouponRequested> decode_coupon_requested(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  CouponRequested data;
  data.request_id = in.uuid("requestId");
  data.coupon_id = in.uuid("couponId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.requested_at = in.timestamp("requestedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
