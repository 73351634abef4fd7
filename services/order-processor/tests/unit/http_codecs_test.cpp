#include "order_processor/http_codecs.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"

using namespace paypipe;
using namespace paypipe::order_processor;

namespace {

http::Request post(std::string body, std::optional<std::string> key = std::nullopt) {
  http::Request r;
  r.method = "POST";
  r.body = std::move(body);
  r.headers.push_back({"content-type", "application/json"});
  if (key) r.headers.push_back({"idempotency-key", *key});
  return r;
}

bool names(const core::Error& error, const std::string& field) {
  return error.message.find(field) != std::string::npos;
}

// The request as user "a" sends it.
core::Result<OrderRequest> parse_order_request(const http::Request& request) {
  return order_processor::parse_order_request(request, "a");
}

}  // namespace

TEST_CASE("a product needs an id, a name, a price, a stock and an opening time") {
  auto ok = parse_product_spec(post(
      R"({"productId":"concert:A-12","name":"Seat A12","unitPrice":50000,"totalStock":100,"saleOpensAt":"2027-01-15T09:00:00+09:00"})"));
  REQUIRE(ok.ok());
  CHECK(ok->id == "concert:A-12");
  CHECK(ok->unit_price == 50000);
  CHECK(ok->total_stock == 100);
  CHECK(core::format_rfc3339(ok->sale_opens_at) == "2027-01-15T00:00:00.000Z");

  auto bad = parse_product_spec(
      post(R"({"productId":"no spaces","name":"","unitPrice":-1,"totalStock":0,"saleOpensAt":"tomorrow"})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  for (const auto* field : {"productId", "name", "unitPrice", "totalStock", "saleOpensAt"}) {
    INFO(field);
    CHECK(names(bad.error(), field));
  }
  auto missing = parse_product_spec(post("{}"));
  REQUIRE_FALSE(missing.ok());
  CHECK(names(missing.error(), "productId: is required"));
  CHECK_FALSE(parse_product_spec(post("[1,2]")).ok());
  CHECK_FALSE(parse_product_spec(post("{\"productId\":")).ok());
}

TEST_CASE("an order request is validated field by field, every bad field named") {
  auto ok = parse_order_request(post(
      R"({"userId":"a","items":[{"productId":"a","quantity":2,"unitPrice":1500},{"productId":"b","quantity":1,"unitPrice":0}],"fulfilment":"WAREHOUSE"})",
      "key-1"));
  REQUIRE(ok.ok());
  CHECK(ok->user_id == "a");
  REQUIRE(ok->items.size() == 2);
  CHECK(ok->items[0] == contracts::OrderItem{"a", 2, 1500});
  CHECK(ok->fulfilment == "WAREHOUSE");
  CHECK(ok->idempotency_key == "key-1");

  auto no_key = parse_order_request(
      post(R"({"items":[{"productId":"a","quantity":1,"unitPrice":1}],"fulfilment":"SHIPPING"})"));
  REQUIRE(no_key.ok());
  CHECK_FALSE(no_key->idempotency_key.has_value());
  CHECK(no_key->user_id == "a");  // from the token
  auto someone_else = order_processor::parse_order_request(
      post(R"({"userId":"alice","items":[{"productId":"a","quantity":1,"unitPrice":1}],"fulfilment":"SHIPPING"})"),
      "bob");
  REQUIRE_FALSE(someone_else.ok());
  CHECK(someone_else.error().code == "user-mismatch");

  auto bad = parse_order_request(post(
      R"({"userId":"a l i c e","items":[{"productId":"a","quantity":0,"unitPrice":1},{"productId":"","quantity":1,"unitPrice":-5}],"fulfilment":"DRONE"})",
      std::string("bad\x01key")));
  REQUIRE_FALSE(bad.ok());
  for (const auto* field :
       {"userId", "items[0].quantity", "items[1].productId", "items[1].unitPrice", "fulfilment", "Idempotency-Key"}) {
    INFO(field);
    CHECK(names(bad.error(), field));
  }
}

TEST_CASE("an order has 1 to 100 items, each product once, and a bounded total") {
  CHECK(names(parse_order_request(post(R"({"userId":"a","items":[],"fulfilment":"SHIPPING"})")).error(), "items"));
  CHECK(names(parse_order_request(post(R"({"userId":"a","items":{},"fulfilment":"SHIPPING"})")).error(), "items"));
  auto twice = parse_order_request(post(
      R"({"userId":"a","items":[{"productId":"p","quantity":1,"unitPrice":1},{"productId":"p","quantity":2,"unitPrice":1}],"fulfilment":"SHIPPING"})"));
  REQUIRE_FALSE(twice.ok());
  CHECK(names(twice.error(), "items[1].productId"));

  std::string many = R"({"userId":"a","fulfilment":"SHIPPING","items":[)";
  for (int i = 0; i < 101; ++i)
    many += (i ? "," : "") + std::string(R"({"productId":"p)") + std::to_string(i) + R"(","quantity":1,"unitPrice":1})";
  many += "]}";
  CHECK_FALSE(parse_order_request(post(many)).ok());

  auto huge = parse_order_request(post(
      R"({"userId":"a","items":[{"productId":"p","quantity":1000,"unitPrice":1000000000000}],"fulfilment":"SHIPPING"})"));
  REQUIRE_FALSE(huge.ok());
  CHECK(names(huge.error(), "total"));
  CHECK_FALSE(
      parse_order_request(
          post(R"({"userId":"a","items":[{"productId":"p","quantity":1.5,"unitPrice":1}],"fulfilment":"SHIPPING"})"))
          .ok());
  CHECK_FALSE(parse_order_request(post("")).ok());
  auto text = post(R"({"userId":"a"})");
  text.headers[0].value = "text/plain";
  CHECK(parse_order_request(text).error().code == "unsupported-media-type");
  CHECK_FALSE(parse_order_request(post(R"({"userId":"a","items":[1],"fulfilment":"SHIPPING"})")).ok());
}

TEST_CASE("the Idempotency-Key header is optional but must be sane when sent") {
  CHECK(optional_idempotency_key(post("{}"))->has_value() == false);
  CHECK(optional_idempotency_key(post("{}", "k"))->value() == "k");
  CHECK_FALSE(optional_idempotency_key(post("{}", "")).ok());
  CHECK_FALSE(optional_idempotency_key(post("{}", std::string(201, 'k'))).ok());
  CHECK(optional_idempotency_key(post("{}", std::string(200, 'k'))).ok());
  CHECK_FALSE(optional_idempotency_key(post("{}", "with space")).ok());
}

TEST_CASE("an order is written with its status explained, items and totals") {
  Order o;
  o.id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  o.user_id = "alice";
  o.status = OrderStatus::pending_payment;
  o.fulfilment = "SHIPPING";
  o.items = {{"a", 2, 1500}, {"b", 1, 700}};
  o.total_amount = 3700;
  o.currency = "KRW";
  o.expires_at = "2027-01-15T08:10:00.000Z";
  o.created_at = o.updated_at = "2027-01-15T08:00:00.000Z";
  auto doc = core::json::parse(order_json(o));
  REQUIRE(doc.ok());
  const auto& j = *doc;
  CHECK(std::string(j["status"].GetString()) == "PENDING_PAYMENT");
  CHECK(std::string(j["description"].GetString()) == std::string(info(OrderStatus::pending_payment).description));
  CHECK(j["progress"].GetInt() == 10);
  CHECK(j["cancellable"].GetBool());
  CHECK(j["items"].Size() == 2);
  CHECK(j["items"][0]["amount"].GetInt64() == 3000);
  CHECK(j["totalQuantity"].GetInt64() == 3);
  CHECK(j["totalAmount"].GetInt64() == 3700);
  CHECK(j["paymentId"].IsNull());
  CHECK(std::string(j["updatedAt"].GetString()) == "2027-01-15T08:00:00.000Z");

  o.status = OrderStatus::completed;
  o.payment_id = "0190a6b2-7c3e-7abc-8def-0000000000ff";
  auto done = core::json::parse(order_json(o));
  REQUIRE(done.ok());
  CHECK((*done)["progress"].GetInt() == 100);
  CHECK_FALSE((*done)["cancellable"].GetBool());
  CHECK(std::string((*done)["paymentId"].GetString()) == *o.payment_id);
}

TEST_CASE("a product is written with its stock counters") {
  Product p;
  p.id = "a";
  p.name = "Seat";
  p.unit_price = 100;
  p.currency = "KRW";
  p.total_stock = 10;
  p.held = 3;
  p.sold = 2;
  p.sale_opens_at = core::from_unix_ms(0);
  auto doc = core::json::parse(product_json(p));
  REQUIRE(doc.ok());
  CHECK((*doc)["stock"]["available"].GetInt64() == 5);
  CHECK((*doc)["stock"]["held"].GetInt64() == 3);
  CHECK((*doc)["soldOutAt"].IsNull());
  CHECK(std::string((*doc)["saleOpensAt"].GetString()) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("cancel and fulfilment bodies, and the path ids") {
  CHECK(parse_cancel_request(post(R"({"userId":"alice"})"), "alice").value() == "alice");
  CHECK(parse_cancel_request(post("{}"), "alice").value() == "alice");
  CHECK(parse_cancel_request(post(""), "alice").value() == "alice");
  CHECK(parse_cancel_request(post(R"({"userId":"bob"})"), "alice").error().code == "user-mismatch");
  CHECK(names(parse_cancel_request(post(R"({"userId":"a b"})"), "alice").error(), "userId"));
  CHECK(parse_fulfilment_request(post(R"({"status":"IN_TRANSIT"})")).value() == OrderStatus::in_transit);
  CHECK(names(parse_fulfilment_request(post(R"({"status":"REFUNDED"})")).error(), "status"));

  http::Request r;
  r.path_params["orderId"] = "0190A6B2-7C3E-7ABC-8DEF-00000000000A";
  CHECK(order_id_param(r).value() == "0190a6b2-7c3e-7abc-8def-00000000000a");
  r.path_params["orderId"] = "42";
  CHECK(order_id_param(r).error().code == "bad-order-id");
  r.path_params["productId"] = "concert:A-12";
  CHECK(product_id_param(r).ok());
  r.path_params["productId"] = std::string(65, 'p');
  CHECK_FALSE(product_id_param(r).ok());
  CHECK(sweep_json(3) == R"({"expired":3})");
}

TEST_CASE("a ticket may name its event's date and venue; an order line never names its product") {
  auto ticket = parse_product_spec(post(
      R"({"productId":"gig-1","name":"Concert A","unitPrice":50000,"totalStock":10,"saleOpensAt":"2027-01-15T09:00:00Z",
          "eventDate":"2027-02-01T19:30:00+09:00","venue":"Olympic Hall"})"));
  REQUIRE(ticket.ok());
  CHECK(ticket->event_date == "2027-02-01T19:30:00+09:00");  // as given: the venue's local time
  CHECK(ticket->venue == "Olympic Hall");
  auto plain = parse_product_spec(
      post(R"({"productId":"p","name":"P","unitPrice":1,"totalStock":1,"saleOpensAt":"2027-01-15T09:00:00Z"})"));
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->event_date.has_value());
  auto bad = parse_product_spec(post(
      R"({"productId":"p","name":"P","unitPrice":1,"totalStock":1,"saleOpensAt":"2027-01-15T09:00:00Z","eventDate":"soon","venue":""})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(names(bad.error(), "eventDate"));
  CHECK(names(bad.error(), "venue"));

  // A client naming a line's product is not believed: the name comes from the product.
  auto order = parse_order_request(post(
      R"({"items":[{"productId":"a","quantity":1,"unitPrice":1,"name":"Free money","venue":"x"}],"fulfilment":"WAREHOUSE"})"));
  REQUIRE(order.ok());
  CHECK_FALSE(order->items[0].name.has_value());
  CHECK_FALSE(order->items[0].venue.has_value());
}
