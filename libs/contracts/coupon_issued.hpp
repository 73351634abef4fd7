#pragma once
// The data of a `coupon.issued` event (proto/events/coupon.issued.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of coupon.issued use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct CouponIssued;
// invalid_input naming every bad field.
core::Result<CouponIssued> decode_coupon_issued(std::string_view json);

struct CouponIssued {
  static constexpr std::string_view type = "dev.paypipe.coupon.issued.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_coupon_issued;
  std::string request_id;
  std::string coupon_id;
  std::string user_id;
  std::string issued_coupon_id;
  std::optional<std::string> coupon_name;
  std::int64_t discount = 0;  // minor units
  std::optional<std::string> valid_until;  // RFC 3339
  std::string issued_at;  // RFC 3339
};

std::string encode(const CouponIssued& data);

}  // namespace paypipe::contracts
