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
#include "events/admin.hpp"
#include "events/schemas.hpp"

using namespace paypipe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto& registry = events::SchemaRegistry::builtin();
  for (const auto& type : events::business_topics()) {
    if (!registry.validate(type, json).ok()) continue;
    // Schema-valid data must decode (or be refused cleanly) by its codec.
    if (type == "order.created") (void)contracts::decode_order_created(json);
    if (type == "order.completed") (void)contracts::decode_order_completed(json);
    if (type == "order.cancelled") (void)contracts::decode_order_cancelled(json);
    if (type == "payment.completed") (void)contracts::decode_payment_completed(json);
    if (type == "payment.failed") (void)contracts::decode_payment_failed(json);
    if (type == "payment.refund-requested") (void)contracts::decode_payment_refund_requested(json);
    if (type == "payment.refunded") (void)contracts::decode_payment_refunded(json);
    if (type == "coupon.requested") (void)contracts::decode_coupon_requested(json);
    if (type == "coupon.issued") (void)contracts::decode_coupon_issued(json);
    if (type == "coupon.rejected") (void)contracts::decode_coupon_rejected(json);
    if (type == "product.sold-out") (void)contracts::decode_product_sold_out(json);
  }
  return 0;
}
