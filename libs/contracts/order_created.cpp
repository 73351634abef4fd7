#include "contracts/order_created.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderCreated& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("orderId", data.order_id);
  w.field("userId", data.user_id);
  write_items(w, "items", data.items);
  w.field("totalAmount", data.total_amount);
  w.field("currency", data.currency);
  w.field("fulfilment", data.fulfilment);
  w.field("expiresAt", data.expires_at);
  w.field("createdAt", data.created_at);
  w.end_object();
  return w.take();
}

core::Result<OrderCreated> decode_order_created(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  OrderCreated data;
  data.order_id = in.uuid("orderId");
  data.user_id = in.text("userId", core::json::id_rule);
  data.items = read_items(in, "items");
  data.total_amount = in.integer("totalAmount", 0, max_amount);
  data.currency = read_currency(in, "currency");
  data.fulfilment = in.one_of("fulfilment", {"SHIPPING", "WAREHOUSE"});
  data.expires_at = in.timestamp("expiresAt");
  data.created_at = in.timestamp("createdAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
