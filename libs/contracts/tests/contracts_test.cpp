// Every contract: an encoded sample passes its JSON Schema and decodes back to itself;
// invalid JSON and wrong fields are refused with the field named.
#include <catch2/catch.hpp>

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"
#include "contracts/coupon_requested.hpp"
#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_created.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "contracts/payment_refunded.hpp"
#include "contracts/product_sold_out.hpp"
#include "events/schemas.hpp"

using namespace paypipe;
using namespace paypipe::contracts;

namespace {

const std::string id1 = "0190a6b2-7c3e-7abc-8def-0123456789ab";
const std::string id2 = "0190a6b2-7c3e-7abc-8def-0123456789ac";
const std::string id3 = "0190a6b2-7c3e-7abc-8def-0123456789ad";
const std::string at = "2026-11-23T06:53:00.123Z";
const std::vector<OrderItem> items{{"seat-A1", 2, 50000}, {"seat-A2", 1, 70000}};

template <typename T, typename Decode>
void round_trip(const T& sample, Decode decode) {
  const auto json = encode(sample);
  INFO(json);
  CHECK(events::SchemaRegistry::builtin().validate(T::type, json).ok());
  auto decoded = decode(json);
  REQUIRE(decoded.ok());
  CHECK(encode(*decoded) == json);
}

}  // namespace

TEST_CASE("every contract round-trips and matches its schema") {
  round_trip(OrderCreated{id1, "user-1", items, 170000, "KRW", "SHIPPING", at, at}, decode_order_created);
  round_trip(OrderCompleted{id1, "user-1", items, 170000, "KRW", "WAREHOUSE", id2, at}, decode_order_completed);
  round_trip(OrderCancelled{id1, "user-1", "EXPIRED", items, 170000, "KRW", at}, decode_order_cancelled);
  round_trip(OrderCancelled{id1, "user-1", "USER_CANCELLED", {}, 170000, "KRW", at}, decode_order_cancelled);
  round_trip(PaymentCompleted{id2, id1, "user-1", 170000, "KRW", at}, decode_payment_completed);
  round_trip(PaymentFailed{id2, id1, "user-1", 170000, "KRW", "INSUFFICIENT_FUNDS", at}, decode_payment_failed);
  round_trip(PaymentRefundRequested{id2, id1, "user-1", 170000, "KRW", "ORDER_EXPIRED", at},
             decode_payment_refund_requested);
  round_trip(PaymentRefunded{id2, id1, "user-1", 170000, "KRW", at}, decode_payment_refunded);
  round_trip(CouponRequested{id1, id2, "user-1", at}, decode_coupon_requested);
  round_trip(CouponIssued{id1, id2, "user-1", id3, std::string("Welcome"), 5000, at, at}, decode_coupon_issued);
  round_trip(CouponIssued{id1, id2, "user-1", id3, std::nullopt, 5000, std::nullopt, at}, decode_coupon_issued);
  round_trip(CouponRejected{id1, id2, "user-1", "OUT_OF_STOCK", at}, decode_coupon_rejected);
  round_trip(ProductSoldOut{"seat-A1", std::string("Concert A1"), 100, at, at}, decode_product_sold_out);
  round_trip(ProductSoldOut{"seat-A1", std::nullopt, 100, at, at, std::string("2026-12-24")}, decode_product_sold_out);
  round_trip(PaymentRefundRequested{id2, id1, "user-1", 170000, "KRW", "USER_REQUESTED", at},
             decode_payment_refund_requested);
  const std::vector<OrderItem> dated{{"seat-A1", 2, 50000, std::nullopt, std::string("2026-12-24")},
                                     {"seat-A2", 1, 70000}};
  round_trip(OrderCompleted{id1, "user-1", dated, 170000, "KRW", "SHIPPING", id2, at}, decode_order_completed);
  round_trip(OrderRefunded{id1, "user-1", dated, 170000, "KRW", id2, "ADMIN_REFUND", at}, decode_order_refunded);
}

TEST_CASE("event dates are optional calendar dates") {
  CHECK(is_calendar_date("2024-02-29"));
  CHECK_FALSE(is_calendar_date("2027-02-29"));
  CHECK_FALSE(is_calendar_date("2027-12-24T00:00:00Z"));
  const std::string base = R"({"productId":"p","totalStock":1,"saleOpensAt":")" + at + R"(","soldOutAt":")" + at;
  CHECK_FALSE(decode_product_sold_out(base + R"(","eventDate":"2026-13-01"})").ok());
  CHECK(decode_product_sold_out(base + R"(","eventDate":null})").ok());
  CHECK_FALSE(
      decode_order_refunded(
          R"({"orderId":")" + id1 +
          R"(","userId":"u","items":[{"productId":"p","quantity":1,"unitPrice":1}],"totalAmount":1,"currency":"KRW","paymentId":")" +
          id2 + R"(","reason":"WHIM","refundedAt":")" + at + R"("})")
          .ok());
}

TEST_CASE("decoders refuse malformed JSON and name every bad field") {
  CHECK_FALSE(decode_payment_completed("{").ok());
  CHECK_FALSE(decode_payment_completed("[]").ok());
  const auto bad = decode_payment_completed(
      R"({"paymentId":"x","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ab","userId":"u 1","amount":-1,
          "currency":"krw","completedAt":"yesterday"})");
  REQUIRE_FALSE(bad.ok());
  const auto& m = bad.error().message;
  CHECK(m.find("paymentId") != std::string::npos);
  CHECK(m.find("userId") != std::string::npos);
  CHECK(m.find("amount") != std::string::npos);
  CHECK(m.find("currency") != std::string::npos);
  CHECK(m.find("completedAt") != std::string::npos);
  const auto reason = decode_coupon_rejected(
      R"({"requestId":"0190a6b2-7c3e-7abc-8def-0123456789ab","couponId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
          "userId":"u1","reason":"BORED","rejectedAt":"2026-11-23T06:53:00Z"})");
  REQUIRE_FALSE(reason.ok());
  CHECK(reason.error().message.find("reason: must be one of") != std::string::npos);
  const auto empty_items = decode_order_created(
      R"({"orderId":"0190a6b2-7c3e-7abc-8def-0123456789ab","userId":"u1","items":[],"totalAmount":1,"currency":"KRW",
          "fulfilment":"SHIPPING","expiresAt":"2026-11-23T06:53:00Z","createdAt":"2026-11-23T06:53:00Z"})");
  REQUIRE_FALSE(empty_items.ok());
  CHECK(empty_items.error().message.find("items") != std::string::npos);
}

TEST_CASE("order lines may carry what a message needs: name, event date, venue") {
  std::vector<OrderItem> tickets = items;
  tickets[0].name = "Concert A, seat A1";
  tickets[0].event_date = "2026-12-24T19:30:00+09:00";
  tickets[0].venue = "Olympic Hall";
  tickets[1].name = "Concert A, seat A2";  // a line may carry some of them only
  round_trip(OrderCreated{id1, "user-1", tickets, 170000, "KRW", "SHIPPING", at, at}, decode_order_created);
  round_trip(OrderCompleted{id1, "user-1", tickets, 170000, "KRW", "WAREHOUSE", id2, at}, decode_order_completed);
  round_trip(OrderCancelled{id1, "user-1", "EXPIRED", tickets, 170000, "KRW", at}, decode_order_cancelled);
  const auto decoded = decode_order_completed(
      encode(OrderCompleted{id1, "user-1", tickets, 1, "KRW", "WAREHOUSE", id2, at}));
  REQUIRE(decoded.ok());
  CHECK(decoded->items == tickets);
  CHECK(same_lines(tickets, items));  // the same lines, one of them named
  auto more = items;
  more[1].quantity = 2;
  CHECK_FALSE(same_lines(more, items));
  CHECK_FALSE(same_lines({items[0]}, items));
  // A record written before the fields: still valid, the fields absent.
  const auto old = decode_order_completed(encode(OrderCompleted{id1, "user-1", items, 1, "KRW", "WAREHOUSE", id2, at}));
  REQUIRE(old.ok());
  CHECK_FALSE(old->items[0].name.has_value());
  CHECK_FALSE(old->items[0].event_date.has_value());
  // A bad date is refused, naming the field.
  auto bad = encode(OrderCompleted{id1, "user-1", tickets, 1, "KRW", "WAREHOUSE", id2, at});
  bad.replace(bad.find("2026-12-24T19:30:00+09:00"), 25, "christmas");
  const auto refused = decode_order_completed(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("eventDate") != std::string::npos);
}
