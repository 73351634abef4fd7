#pragma once
// order-processor's HTTP bodies: requests parsed from JSON (every bad field named),
// answers written as JSON. Pure: tests/unit/http_codecs_test.cpp.

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "http/http.hpp"
#include "order_processor/order_rules.hpp"

namespace paypipe::order_processor {

// POST /v1/products: {productId, name, unitPrice, totalStock, saleOpensAt, eventDate?}.
core::Result<ProductSpec> parse_product_spec(const http::Request& request);
// {productId, name, unitPrice, currency, saleOpensAt, soldOutAt, eventDate?, stock{total, held, sold, available}, ...}
std::string product_json(const Product& product);

// POST /v1/orders: {userId?, items[{productId, quantity, unitPrice}], fulfilment} and an
// optional Idempotency-Key header, for the token's user `subject` (a userId in the body
// must be the same user). A product may appear once per order.
core::Result<OrderRequest> parse_order_request(const http::Request& request, std::string_view subject);

// POST /v1/orders/{orderId}/cancel and /refund: no body, {} or {userId} naming the token's user.
core::Result<std::string> parse_cancel_request(const http::Request& request, std::string_view subject);

// POST /v1/orders/{orderId}/fulfilment: {status: SHIPMENT_STARTED | IN_TRANSIT | COMPLETED}.
core::Result<OrderStatus> parse_fulfilment_request(const http::Request& request);

// The order as a customer sees it: status with its description, progress and whether
// it can be cancelled, the items and the totals.
// Where a user watches their orders change (the answers' streamUrl).
inline constexpr std::string_view order_stream_path = "/v1/orders/stream";

// With statusUrl (this order's GET) and streamUrl.
std::string order_json(const Order& order);

// POST /v1/admin/expiry-sweeps: {expired}.
std::string sweep_json(std::size_t expired);

// The {orderId} / {productId} path parameters.
core::Result<std::string> order_id_param(const http::Request& request);
core::Result<std::string> product_id_param(const http::Request& request);

// The optional Idempotency-Key header: absent, or 1 to 200 printable ASCII characters.
core::Result<std::optional<std::string>> optional_idempotency_key(const http::Request& request);

}  // namespace paypipe::order_processor
