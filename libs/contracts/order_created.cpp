#include "contracts/order_created.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const OrderCreated& data) {
  core::json::Writer w;
  w.begin_object();
  write_order_summary(w, data);
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
  read_order_summary(in, data);
  data.fulfilment = in.one_of("fulfilment", {"SHIPPING", "WAREHOUSE"});
  data.expires_at = in.timestamp("expiresAt");
  data.created_at = in.timestamp("createdAt");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
