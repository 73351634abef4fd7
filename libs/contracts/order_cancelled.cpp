#include "contracts/order_cancelled.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderCancelled& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("orderId", data.order_id);
  w.field("userId", data.user_id);
  w.field("reason", data.reason);
  if (!data.items.empty()) write_items(w, "items", data.items);
  w.field("totalAmount", data.total_amount);
  w.field("currency", data.currency);
  w.field("cancelledAt", data.cancelled_at);
  w.end_object();
  return w.take();
}

core::Result<OrderCancelled> decode_order_cancelled(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  OrderCancelled data;
  data.order_id = in.uuid("orderId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.reason = in.one_of("reason", {"PAYMENT_FAILED", "EXPIRED", "USER_CANCELLED"});
  if (in.has("items")) data.items = read_items(in, "items");
  data.total_amount = in.integer("totalAmount", 0, max_amount);
  data.currency = read_currency(in, "currency");
  data.cancelled_at = in.timestamp("cancelledAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
