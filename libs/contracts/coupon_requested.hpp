#pragma once
// The data of a `coupon.requested` event (proto/events/coupon.requested.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of coupon.requested use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct CouponRequested;
// invalid_input naming every bad field.
core::Result<CouponRequested> decode_coupon_requested(std::string_view json);

struct CouponRequested {
  static constexpr std::string_view type = "dev.paypipe.coupon.requested.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_coupon_requested;
  std::string request_id;
  std::string coupon_id;
  std::string user_id;
  std::string requested_at;  // RFC 3339
};

std::string encode(const CouponRequested& data);

}  // namespace paypipe::contracts
