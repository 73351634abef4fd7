#include "order_processor/order_effects.hpp"

#include <catch2/catch.hpp>

#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_created.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_refund_requested.hpp"
#include "events/schemas.hpp"

using namespace paypipe;
using namespace paypipe::order_processor;
using namespace std::chrono_literals;

namespace {

const auto now = core::from_unix_ms(1'800'000'000'000);
const std::string at = core::format_rfc3339(now);
const std::string payment_id = "0190a6b2-7c3e-7abc-8def-0000000000f1";

Order order(OrderStatus status, std::string fulfilment = "SHIPPING") {
  Order o;
  o.id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  o.user_id = "alice";
  o.status = status;
  o.fulfilment = std::move(fulfilment);
  o.items = {{"seat-1", 2, 1500}, {"seat-2", 1, 0}};
  o.total_amount = 3000;
  o.currency = "KRW";
  o.expires_at = core::format_rfc3339(now + 10min);
  o.created_at = core::format_rfc3339(now - 1min);
  o.updated_at = o.created_at;
  return o;
}

const PaymentRef payment{payment_id, 3000, "KRW"};

// Every event is what its contract says: the type's schema accepts it, and it comes
// from order-processor.
void check_contract(const events::Event& e, const std::string& key) {
  INFO(e.type << " " << e.data);
  CHECK(events::SchemaRegistry::builtin().validate(e.type, e.data).ok());
  CHECK(e.source == event_source);
  CHECK(e.key == key);
  CHECK_FALSE(e.id.empty());
}

}  // namespace

TEST_CASE("a placed order announces order.created with everything payment-api needs") {
  const auto placed = order(OrderStatus::pending_payment);
  const auto e = created_event(placed);
  CHECK(e.type == contracts::OrderCreated::type);
  check_contract(e, placed.id);
  auto data = contracts::decode_order_created(e.data);
  REQUIRE(data.ok());
  CHECK(data->order_id == placed.id);
  CHECK(data->user_id == "alice");
  CHECK(data->total_amount == 3000);
  CHECK(data->currency == "KRW");
  CHECK(data->items.size() == 2);
  CHECK(data->fulfilment == "SHIPPING");
  CHECK(data->expires_at == placed.expires_at);
}

TEST_CASE("a completed payment sells the hold and announces order.completed, once") {
  const auto before = order(OrderStatus::pending_payment, "WAREHOUSE");
  auto change = change_for(before, decide_payment_completed(before, payment_id), payment, now);
  REQUIRE(change.ok());
  CHECK(change->after.status == OrderStatus::completed);
  CHECK(change->after.payment_id == payment_id);
  CHECK(change->after.updated_at == at);
  CHECK(change->after.paid_at == at);  // the refund window starts here
  CHECK(change->stock == StockMove::sell);
  REQUIRE(change->events.size() == 1);
  const auto& e = change->events[0];
  CHECK(e.type == contracts::OrderCompleted::type);
  check_contract(e, before.id);
  auto data = contracts::decode_order_completed(e.data);
  REQUIRE(data.ok());
  CHECK(data->payment_id == payment_id);
  CHECK(data->completed_at == at);
  CHECK(data->total_amount == 3000);
  CHECK(data->fulfilment == "WAREHOUSE");
  CHECK(data->items.size() == 2);
}

TEST_CASE("a failed payment, an expiry and a user's cancel release the hold and announce order.cancelled") {
  const auto before = order(OrderStatus::pending_payment);
  const std::pair<Decision, std::string> cases[] = {
      {decide_payment_failed(before), "PAYMENT_FAILED"},
      {decide_expiry(before), "EXPIRED"},
      {decide_user_cancel(before, "alice").value(), "USER_CANCELLED"},
  };
  for (const auto& [decision, reason] : cases) {
    auto change = change_for(before, decision, std::nullopt, now);
    REQUIRE(change.ok());
    CHECK(change->after.cancel_reason == reason);
    CHECK(change->stock == StockMove::release);
    REQUIRE(change->events.size() == 1);
    const auto& e = change->events[0];
    CHECK(e.type == contracts::OrderCancelled::type);
    check_contract(e, before.id);
    auto data = contracts::decode_order_cancelled(e.data);
    REQUIRE(data.ok());
    CHECK(data->reason == reason);
    CHECK(data->cancelled_at == at);
    CHECK(data->items.size() == 2);
  }
}

TEST_CASE("a payment for a cancelled or expired order asks for its refund, stock untouched") {
  const std::pair<OrderStatus, std::string> cases[] = {{OrderStatus::cancelled, "ORDER_CANCELLED"},
                                                       {OrderStatus::expired, "ORDER_EXPIRED"}};
  for (const auto& [status, reason] : cases) {
    const auto before = order(status);
    auto change = change_for(before, decide_payment_completed(before, payment_id), payment, now);
    REQUIRE(change.ok());
    CHECK(change->after.status == OrderStatus::refund_requested);
    CHECK(change->after.payment_id == payment_id);
    CHECK(change->stock == StockMove::none);
    REQUIRE(change->events.size() == 1);
    const auto& e = change->events[0];
    CHECK(e.type == contracts::PaymentRefundRequested::type);
    check_contract(e, before.id);
    auto data = contracts::decode_payment_refund_requested(e.data);
    REQUIRE(data.ok());
    CHECK(data->payment_id == payment_id);
    CHECK(data->amount == 3000);
    CHECK(data->reason == reason);
    CHECK(data->requested_at == at);
  }
}

TEST_CASE("a paid order's refund puts its units back on sale and asks payment-api for the whole payment") {
  auto before = order(OrderStatus::preparing);
  before.payment_id = payment_id;
  before.paid_at = before.updated_at;
  auto change = change_for(before, decide_user_refund(before, "alice", now, std::chrono::hours(24)).value(),
                           std::nullopt, now);
  REQUIRE(change.ok());
  CHECK(change->after.status == OrderStatus::refund_requested);
  CHECK(change->after.refund_reason == "USER_REQUESTED");
  CHECK(change->stock == StockMove::unsell);
  REQUIRE(change->events.size() == 1);
  check_contract(change->events[0], before.id);
  auto data = contracts::decode_payment_refund_requested(change->events[0].data);
  REQUIRE(data.ok());
  CHECK(data->payment_id == payment_id);
  CHECK(data->amount == 3000);
  CHECK(data->reason == "USER_REQUESTED");

  auto unpaid = order(OrderStatus::preparing);  // no payment: cannot happen, refused rather than guessed
  CHECK(change_for(unpaid, decide_admin_refund(before).value(), std::nullopt, now).error().code == "payment-missing");
}

TEST_CASE("the end of a refund announces order.refunded with the reason asked, and the event dates") {
  auto refunding = order(OrderStatus::refund_requested);
  refunding.payment_id = payment_id;
  refunding.refund_reason = "ADMIN_REFUND";
  refunding.items[0].event_date = "2026-12-24";
  auto refunded = change_for(refunding, decide_payment_refunded(refunding), std::nullopt, now);
  REQUIRE(refunded.ok());
  CHECK(refunded->after.status == OrderStatus::refunded);
  CHECK(refunded->stock == StockMove::none);
  REQUIRE(refunded->events.size() == 1);
  check_contract(refunded->events[0], refunding.id);
  auto data = contracts::decode_order_refunded(refunded->events[0].data);
  REQUIRE(data.ok());
  CHECK(data->reason == "ADMIN_REFUND");
  CHECK(data->payment_id == payment_id);
  CHECK(data->items == refunding.items);
  CHECK(data->refunded_at == at);

  // A late payment refunded before the reason was recorded: the cancel reason tells.
  refunding.refund_reason.reset();
  refunding.cancel_reason = "EXPIRED";
  auto legacy = change_for(refunding, decide_payment_refunded(refunding), std::nullopt, now);
  REQUIRE(legacy.ok());
  CHECK(contracts::decode_order_refunded(legacy->events[0].data)->reason == "ORDER_EXPIRED");
}

TEST_CASE("fulfilment progress changes the status only, announcing nothing") {
  const auto preparing = order(OrderStatus::preparing);
  auto shipped = change_for(preparing, decide_fulfilment(preparing, OrderStatus::shipment_started).value(),
                            std::nullopt, now);
  REQUIRE(shipped.ok());
  CHECK(shipped->after.status == OrderStatus::shipment_started);
  CHECK(shipped->events.empty());
}

TEST_CASE("a decision that changes nothing announces nothing; one without its payment is refused") {
  const auto paid = order(OrderStatus::preparing);
  auto duplicate = change_for(paid, decide_payment_completed(paid, payment_id), payment, now);
  REQUIRE(duplicate.ok());
  CHECK(duplicate->after.status == OrderStatus::preparing);
  CHECK(duplicate->after.updated_at == paid.updated_at);
  CHECK(duplicate->events.empty());
  CHECK(duplicate->stock == StockMove::none);

  const auto pending = order(OrderStatus::pending_payment);
  auto missing = change_for(pending, decide_payment_completed(pending, payment_id), std::nullopt, now);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "payment-missing");
}

TEST_CASE("each product whose last unit sold announces product.sold-out, keyed by the product") {
  const contracts::ProductSoldOut products[] = {{"seat-1", "Seat 1", 10, at, at}, {"seat-2", std::nullopt, 5, at, at}};
  const auto out = sold_out_events(products);
  REQUIRE(out.size() == 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i].type == contracts::ProductSoldOut::type);
    check_contract(out[i], products[i].product_id);
    auto data = contracts::decode_product_sold_out(out[i].data);
    REQUIRE(data.ok());
    CHECK(data->total_stock == products[i].total_stock);
  }
  CHECK(sold_out_events({}).empty());
}
