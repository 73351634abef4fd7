#include "contracts/order_completed.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderCompleted& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("orderId", data.order_id);
  w.field("userId", data.user_id);
  write_items(w, "items", data.items);
  w.field("totalAmount", data.total_amount);
  w.field("currency", data.currency);
  w.field("fulfilment", data.fulfilment);
  w.field("paymentId", data.payment_id);
  w.field("completedAt", data.completed_at);
  w.end_object();
  return w.take();
}

core::Result<OrderCompleted> decode_order_completed(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  OrderCompleted data;
  data.order_id = in.uuid("orderId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.items = read_items(in, "items");
  data.total_amount = in.integer("totalAmount", 0, max_amount);
  data.currency = read_currency(in, "currency");
  data.fulfilment = in.one_of("fulfilment", {"SHIPPING", "WAREHOUSE"});
  data.payment_id = in.uuid("paymentId");
  data.completed_at = in.timestamp("completedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
