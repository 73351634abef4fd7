#include "contracts/order_refunded.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderRefunded& data) {
  core::json::Writer w;
  w.begin_object();
  write_order_summary(w, data);
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
  read_order_summary(in, data);
  data.payment_id = in.uuid("paymentId");
  data.reason = in.one_of("reason", {"ORDER_CANCELLED", "ORDER_EXPIRED", "USER_REQUESTED", "ADMIN_REFUND"});
  data.refunded_at = in.timestamp("refundedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
