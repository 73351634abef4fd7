#include "order_processor/http_codecs.hpp"

#include "auth/http_auth.hpp"

#include <set>

#include "core/json.hpp"
#include "http/request.hpp"

namespace paypipe::order_processor {

namespace {

constexpr std::int64_t max_stock = 1'000'000'000;

core::Error invalid(std::string code, std::string message) {
  return core::make_error(core::ErrorCategory::invalid_input, std::move(code), std::move(message));
}

}  // namespace

core::Result<std::optional<std::string>> optional_idempotency_key(const http::Request& request) {
  const auto key = request.header("idempotency-key");
  if (!key) return std::optional<std::string>{};
  if (key->empty() || key->size() > 200) {
    return invalid("bad-idempotency-key", "the Idempotency-Key header must be 1 to 200 characters");
  }
  for (const char c : *key) {
    if (c < 0x21 || c > 0x7e)
      return invalid("bad-idempotency-key", "the Idempotency-Key header must be printable ASCII");
  }
  return std::optional<std::string>{std::string(*key)};
}

core::Result<ProductSpec> parse_product_spec(const http::Request& request) {
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  ProductSpec spec;
  spec.id = in.text("productId", core::json::id_rule);
  spec.name = in.text("name", core::json::TextRule{1, 200, false});
  spec.unit_price = in.integer("unitPrice", 0, contracts::max_amount);
  spec.total_stock = in.integer("totalStock", 1, max_stock);
  const auto opens = in.timestamp("saleOpensAt");
  spec.event_date = contracts::read_event_date(in, "eventDate");
  spec.venue = in.optional_text("venue", core::json::TextRule{1, 200, false});
  if (auto status = in.status(); !status) return status.error();
  spec.sale_opens_at = *core::parse_rfc3339(opens);
  return spec;
}

std::string product_json(const Product& p) {
  core::json::Writer w;
  w.begin_object()
      .field("productId", p.id)
      .field("name", p.name)
      .field("unitPrice", p.unit_price)
      .field("currency", p.currency)
      .field("saleOpensAt", core::format_rfc3339(p.sale_opens_at))
      .field("soldOutAt", p.sold_out_at);
  if (p.event_date) w.field("eventDate", *p.event_date);
  if (p.venue) w.field("venue", *p.venue);
  w.begin_object("stock")
      .field("total", p.total_stock)
      .field("held", p.held)
      .field("sold", p.sold)
      .field("available", p.available())
      .end_object();
  w.field("createdAt", p.created_at).field("updatedAt", p.updated_at).end_object();
  return w.take();
}

core::Result<OrderRequest> parse_order_request(const http::Request& request, std::string_view subject) {
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  OrderRequest order;
  const auto claimed = in.optional_text("userId", core::json::id_rule);
  order.items = contracts::read_items(in, "items");
  // What a line is called comes from its product, never from the client.
  for (auto& item : order.items) {
    item.name.reset();
    item.event_date.reset();
    item.venue.reset();
  }
  order.fulfilment = in.one_of("fulfilment", {"SHIPPING", "WAREHOUSE"});
  std::set<std::string> seen;
  for (std::size_t i = 0; i < order.items.size(); ++i) {
    const auto& id = order.items[i].product_id;
    if (!id.empty() && !seen.insert(id).second) {
      in.fail("items[" + std::to_string(i) + "].productId", "repeats " + id + "; ask for it once with its quantity");
    }
  }
  if (in.ok() && order_total(order.items) > contracts::max_amount) {
    in.fail("items", "the order's total must be at most " + std::to_string(contracts::max_amount));
  }
  auto key = optional_idempotency_key(request);
  if (!key) in.fail("Idempotency-Key", key.error().message);
  if (auto status = in.status(); !status) return status.error();
  auto user = auth::acting_user(claimed, subject);
  if (!user) return user.error();
  order.user_id = std::move(user).value();
  order.idempotency_key = std::move(key).value();
  return order;
}

core::Result<std::string> parse_cancel_request(const http::Request& request, std::string_view subject) {
  if (request.body.empty()) return std::string(subject);
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  const auto claimed = in.optional_text("userId", core::json::id_rule);
  if (auto status = in.status(); !status) return status.error();
  return auth::acting_user(claimed, subject);
}

core::Result<OrderStatus> parse_fulfilment_request(const http::Request& request) {
  auto doc = http::json_body(request);
  if (!doc) return doc.error();
  core::json::Reader in(*doc);
  const auto status = in.one_of("status", {"SHIPMENT_STARTED", "IN_TRANSIT", "COMPLETED"});
  if (auto s = in.status(); !s) return s.error();
  return *parse_status(status);
}

std::string order_json(const Order& o) {
  const auto& about = info(o.status);
  core::json::Writer w;
  w.begin_object()
      .field("orderId", o.id)
      .field("userId", o.user_id)
      .field("status", to_string(o.status))
      .field("description", about.description)
      .field("progress", about.progress)
      .field("cancellable", about.cancellable)
      .field("fulfilment", o.fulfilment);
  w.begin_array("items");
  std::int64_t quantity = 0;
  for (const auto& item : o.items) {
    quantity += item.quantity;
    w.begin_object()
        .field("productId", item.product_id)
        .field("quantity", item.quantity)
        .field("unitPrice", item.unit_price)
        .field("amount", item.quantity * item.unit_price)
        .end_object();
  }
  w.end_array();
  w.field("totalQuantity", quantity)
      .field("totalAmount", o.total_amount)
      .field("currency", o.currency)
      .field("paymentId", o.payment_id)
      .field("cancelReason", o.cancel_reason)
      .field("refundReason", o.refund_reason)
      .field("paidAt", o.paid_at)
      .field("expiresAt", o.expires_at)
      .field("createdAt", o.created_at)
      .field("updatedAt", o.updated_at)
      .field("statusUrl", "/v1/orders/" + o.id)
      .field("streamUrl", std::string(order_stream_path))
      .end_object();
  return w.take();
}

std::string sweep_json(std::size_t expired) {
  core::json::Writer w;
  w.begin_object().field("expired", static_cast<std::int64_t>(expired)).end_object();
  return w.take();
}

core::Result<std::string> order_id_param(const http::Request& request) {
  return http::uuid_param(request, "orderId", "bad-order-id");
}

core::Result<std::string> product_id_param(const http::Request& request) {
  return http::plain_id_param(request, "productId", "bad-product-id");
}

}  // namespace paypipe::order_processor
