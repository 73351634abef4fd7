#pragma once
// The data of a `coupon.rejected` event (proto/events/coupon.rejected.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of coupon.rejected use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct CouponRejected;
// invalid_input naming every bad field.
core::Result<CouponRejected> decode_coupon_rejected(std::string_view json);

struct CouponRejected {
  static constexpr std::string_view type = "dev.paypipe.coupon.rejected.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_coupon_rejected;
  std::string request_id;
  std::string coupon_id;
  std::string user_id;
  std::string reason;  // OUT_OF_STOCK | ALREADY_ISSUED | EXPIRED | NOT_FOUND
  std::string rejected_at;  // RFC 3339
};

std::string encode(const CouponRejected& data);

}  // namespace paypipe::contracts
