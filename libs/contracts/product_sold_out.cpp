#include "contracts/product_sold_out.hpp"

#include "core/json.hpp"

namespace paypipe::contracts {

std::string encode(const ProductSoldOut& data) {
  core::json::Writer w;
  w.begin_object();
  w.field("productId", data.product_id);
  if (data.name) w.field("name", *data.name);
  w.field("totalStock", data.total_stock);
  w.field("saleOpensAt", data.sale_opens_at);
  w.field("soldOutAt", data.sold_out_at);
  if (data.event_date) w.field("eventDate", *data.event_date);
  w.end_object();
  return w.take();
}

core::Result<ProductSoldOut> decode_product_sold_out(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  ProductSoldOut data;
  data.product_id = in.text("productId", core::json::id_rule);
  data.name = in.optional_text("name", core::json::TextRule{0, 200, false});
  data.total_stock = in.integer("totalStock", 0, max_amount);
  data.sale_opens_at = in.timestamp("saleOpensAt");
  data.sold_out_at = in.timestamp("soldOutAt");
  data.event_date = read_event_date(in, "eventDate");
  if (auto status = in.status(); !status) return status.error();
  return data;
}

}  // namespace paypipe::contracts
