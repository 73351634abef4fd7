#include "contracts/coupon_rejected.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const CouponRejected& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("requestId", data.request_id);
  w.field("couponId", data.coupon_id);
  w.field("userId", data.user_id);
  w.field("reason", data.reason);
  w.field("rejectedAt", data.rejected_at);
  w.end_object();
  return w.take();
}

core::Result<CouponRejected> decode_coupon_rejected(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  CouponRejected data;
  data.request_id = in.uuid("requestId");
  data.coupon_id = in.uuid("couponId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.reason = in.one_of("reason", {"OUT_OF_STOCK", "ALREADY_ISSUED", "EXPIRED", "NOT_FOUND"});
  data.rejected_at = in.timestamp("rejectedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
