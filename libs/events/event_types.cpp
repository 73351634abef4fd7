#include "events/event_types.hpp"

#include <charconv>
#include <utility>

namespace paypipe::events {

namespace {

// The alias table: every type named before the CloudEvents naming, and its name now.
// Types added since (order.refunded) are here too, so every business topic's bare name
// maps to its type the same way.
constexpr std::pair<std::string_view, std::string_view> old_names[] = {
    {"order.created", "dev.paypipe.order.created.v1"},
    {"order.completed", "dev.paypipe.order.completed.v1"},
    {"order.cancelled", "dev.paypipe.order.cancelled.v1"},
    {"order.refunded", "dev.paypipe.order.refunded.v1"},
    {"payment.completed", "dev.paypipe.payment.completed.v1"},
    {"payment.failed", "dev.paypipe.payment.failed.v1"},
    {"payment.refund-requested", "dev.paypipe.payment.refund-requested.v1"},
    {"payment.refunded", "dev.paypipe.payment.refunded.v1"},
    {"coupon.requested", "dev.paypipe.coupon.requested.v1"},
    {"coupon.issued", "dev.paypipe.coupon.issued.v1"},
    {"coupon.rejected", "dev.paypipe.coupon.rejected.v1"},
    {"product.sold-out", "dev.paypipe.product.sold-out.v1"},
};

}  // namespace

std::optional<TypeName> parse_type(std::string_view type) {
  if (!type.starts_with(type_prefix)) return std::nullopt;
  const auto rest = type.substr(type_prefix.size());
  const auto dot_v = rest.rfind(".v");
  if (dot_v == std::string_view::npos || dot_v == 0) return std::nullopt;
  int version = 0;
  const auto digits = rest.substr(dot_v + 2);
  const auto* end = digits.data() + digits.size();
  if (digits.empty() || std::from_chars(digits.data(), end, version).ptr != end || version < 1) return std::nullopt;
  return TypeName{std::string(rest.substr(0, dot_v)), version};
}

std::string current_type(std::string_view type) {
  for (const auto& [old_name, name] : old_names) {
    if (type == old_name) return std::string(name);
  }
  return std::string(type);
}

std::string topic_of(std::string_view type) {
  if (auto parsed = parse_type(type)) return std::move(parsed->name);
  return std::string(type);
}

std::string dataschema_of(std::string_view type) {
  const auto parsed = parse_type(type);
  if (!parsed) return {};
  return std::string(schema_base_url) + parsed->name + ".v" + std::to_string(parsed->version) + ".json";
}

}  // namespace paypipe::events
