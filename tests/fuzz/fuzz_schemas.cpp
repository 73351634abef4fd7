// Fuzzes JSON Schema validation of event data: the input is validated against every
// event type's schema, and decoded with the matching contract codec when it passes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"
#include "contracts/coupon_requested.hpp"
#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_created.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "contracts/payment_refunded.hpp"
#include "contracts/product_sold_out.hpp"
#include "events/envelope.hpp"
#include "events/schemas.hpp"

using namespace paypipe;

namespace {

// Schema-valid data must decode (or be refused cleanly) by its contract's codec.
template <events::EventContract... Contracts>
void validate_and_decode(std::string_view json) {
  const auto& registry = events::SchemaRegistry::builtin();
  ((registry.validate(Contracts::type, json).ok() ? (void)Contracts::decode(json) : void()), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  validate_and_decode<contracts::OrderCreated, contracts::OrderCompleted, contracts::OrderCancelled,
                      contracts::PaymentCompleted, contracts::PaymentFailed, contracts::PaymentRefundRequested,
                      contracts::PaymentRefunded, contracts::CouponRequested, contracts::CouponIssued,
                      contracts::CouponRejected, contracts::ProductSoldOut>(json);
  return 0;
}
