#include "contracts/payment_refund_requested.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const PaymentRefundRequested& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("paymentId", data.payment_id);
  w.field("orderId", data.order_id);
  w.field("userId", data.user_id);
  w.field("amount", data.amount);
  w.field("currency", data.currency);
  w.field("reason", data.reason);
  w.field("requestedAt", data.requested_at);
  w.end_object();
  return w.take();
}

core::Result<PaymentRefundRequested> decode_payment_refund_requested(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  PaymentRefundRequested data;
  data.payment_id = in.uuid("paymentId");
  data.order_id = in.uuid("orderId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.amount = in.integer("amount", 0, max_amount);
  data.currency = read_currency(in, "currency");
  data.reason = in.one_of("reason", {"ORDER_CANCELLED", "ORDER_EXPIRED", "USER_REQUESTED", "ADMIN_REFUND"});
  data.requested_at = in.timestamp("requestedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
