#include "contracts/order_refunded.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderRefunded& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("orderId", data.order_id);
  w.field("userId", data.user_id);
  write_items(w, "items", data.items);
  w.field("totalAmount", data.total_amount);
  w.field("currency", data.currency);
  w.field("paymentId", data.payment_id);
  w.field("reason", data.reason);
  w.field("refundedAt", data.refunded_at);
  w.end_object();
  return w.take();
}

core::Result<OrderRefunded> decode_order_refunded(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  OrderRefunded data;
  data.order_id = in.uuid("orderId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.items = read_items(in, "items");
  data.total_amount = in.integer("totalAmount", 0, max_amount);
  data.currency = read_currency(in, "currency");
  data.payment_id = in.uuid("paymentId");
  data.reason = in.one_of("reason", {"ORDER_CANCELLED", "ORDER_EXPIRED", "USER_REQUESTED", "ADMIN_REFUND"});
  data.refunded_at = in.timestamp("refundedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
