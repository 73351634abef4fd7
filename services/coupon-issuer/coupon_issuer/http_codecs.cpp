#include "coupon_issuer/http_codecs.hpp"

#include "auth/http_auth.hpp"

#include "contracts/common.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "http/request.hpp"

namespace paypipe::coupon_issuer {

namespace {

constexpr std::int64_t max_stock = 100'000'000;
constexpr core::json::TextRule name_rule{1, 200, false};

}  // namespace

core::Result<NewCoupon> parse_new_coupon(const http::Request& request) {
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  NewCoupon coupon{in.text("name", name_rule), in.integer("discount", 0, contracts::max_amount),
                   in.integer("totalStock", 0, max_stock), in.timestamp("validFrom"), in.timestamp("validUntil")};
  if (in.ok()) {
    const auto from = core::parse_rfc3339(coupon.valid_from);
    const auto until = core::parse_rfc3339(coupon.valid_until);
    if (!from || !until || *until <= *from) in.fail("validUntil", "must be after validFrom");
  }
  if (auto status = in.status(); !status) return status.error();
  return coupon;
}

core::Result<std::string> uuid_param(const http::Request& request, const std::string& name) {
  return http::uuid_param(request, name, "bad-" + name);
}

core::Result<std::string> user_param(const http::Request& request) {
  return http::plain_id_param(request, "userId", "bad-userId");
}

core::Result<std::int64_t> limit_param(const http::Request& request, std::int64_t fallback, std::int64_t max) {
  http::QueryReader in(request);
  const auto limit = in.limit({static_cast<int>(fallback), static_cast<int>(max)});
  if (auto status = in.status(); !status) return status.error();
  return limit;
}

core::Result<IssueRequest> parse_issue_request(const http::Request& request, std::string_view subject) {
  auto coupon = uuid_param(request, "couponId");
  if (!coupon) return coupon.error();
  std::optional<std::string> claimed;
  if (!request.body.empty()) {
    auto doc = http::json_body(request);
    if (!doc) return doc.error();
    core::json::Reader in(*doc);
    claimed = in.optional_text("userId", core::json::id_rule);
    if (auto status = in.status(); !status) return status.error();
  }
  auto user = auth::acting_user(claimed, subject);
  if (!user) return user.error();
  return IssueRequest{std::move(coupon).value(), std::move(user).value()};
}

std::string status_url(const std::string& request_id) { return "/v1/coupon-requests/" + request_id; }

std::string coupon_json(const StoredCoupon& c) {
  core::json::Writer w;
  w.begin_object()
      .field("couponId", c.id)
      .field("name", c.name)
      .field("discount", c.discount)
      .field("totalStock", c.total_stock)
      .field("remainingStock", c.remaining_stock)
      .field("validFrom", c.valid_from)
      .field("validUntil", c.valid_until)
      .field("createdAt", c.created_at)
      .end_object();
  return w.take();
}

std::string accepted_json(const PendingRequest& r) {
  core::json::Writer w;
  w.begin_object()
      .field("requestId", r.request_id)
      .field("couponId", r.coupon_id)
      .field("userId", r.user_id)
      .field("status", "PENDING")
      .field("statusUrl", status_url(r.request_id))
      .field("streamUrl", std::string(request_stream_path))
      .field("requestedAt", r.requested_at)
      .end_object();
  return w.take();
}

std::string request_json(const StoredRequest& r) {
  core::json::Writer w;
  w.begin_object()
      .field("requestId", r.request_id)
      .field("couponId", r.coupon_id)
      .field("userId", r.user_id)
      .field("status", r.status);
  if (r.reason) w.field("reason", *r.reason);
  if (r.issued_coupon_id) w.field("issuedCouponId", *r.issued_coupon_id);
  w.field("requestedAt", r.requested_at);
  if (r.decided_at) w.field("decidedAt", *r.decided_at);
  if (r.notified_at) w.field("notifiedAt", *r.notified_at);
  w.end_object();
  return w.take();
}

std::string user_coupons_json(const std::string& user_id, const std::vector<HeldCoupon>& coupons) {
  core::json::Writer w;
  w.begin_object().field("userId", user_id).begin_array("coupons");
  for (const auto& c : coupons) {
    w.begin_object()
        .field("issuedCouponId", c.issued_coupon_id)
        .field("couponId", c.coupon_id)
        .field("name", c.name)
        .field("discount", c.discount)
        .field("validUntil", c.valid_until)
        .field("issuedAt", c.issued_at)
        .field("requestId", c.request_id)
        .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace paypipe::coupon_issuer
