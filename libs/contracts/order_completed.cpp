#include "contracts/order_completed.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderCompleted& data) {
  core::json::Writer w;
  w.begin_object();
  write_order_summary(w, data);
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
  read_order_summary(in, data);
  data.fulfilment = in.one_of("fulfilment", {"SHIPPING", "WAREHOUSE"});
  data.payment_id = in.uuid("paymentId");
  data.completed_at = in.timestamp("completedAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
