#include "coupon_issuer/http_codecs.hpp"

#include "auth/http_auth.hpp"

#include <cctype>
#include <charconv>

#include "contracts/common.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "http/router.hpp"

namespace paypipe::coupon_issuer {

namespace {

constexpr std::int64_t max_stock = 100'000'000;
constexpr core::json::TextRule name_rule{1, 200, false};

core::Error invalid(const std::string& code, const std::string& message) {
  return core::make_error(core::ErrorCategory::invalid_input, code, message);
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

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
  std::string id(request.param(name));
  if (!core::is_uuid(id)) return invalid("bad-" + name, name + " must be a UUID");
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id;
}

core::Result<std::string> user_param(const http::Request& request) {
  const std::string user(request.param("userId"));
  if (!valid_id(user)) return invalid("bad-userId", "userId may contain only letters, digits and _ - . : (1 to 64)");
  return user;
}

core::Result<std::int64_t> limit_param(const http::Request& request, std::int64_t fallback, std::int64_t max) {
  const auto text = request.query_param("limit");
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 1 || value > max) {
    return invalid("bad-limit", "limit must be an integer from 1 to " + std::to_string(max));
  }
  return value;
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
