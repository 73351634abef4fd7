#include "order_processor/order_rules.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::order_processor;
using namespace std::chrono_literals;

namespace {

const auto now = core::from_unix_ms(1'800'000'000'000);

Product product(const std::string& id, std::int64_t price, std::int64_t total, std::int64_t held = 0,
                std::int64_t sold = 0, core::SystemTime opens = now - 1h) {
  Product p;
  p.id = id;
  p.name = "Seat " + id;
  p.unit_price = price;
  p.currency = "KRW";
  p.total_stock = total;
  p.held = held;
  p.sold = sold;
  p.sale_opens_at = opens;
  return p;
}

std::map<std::string, Product> catalogue(std::initializer_list<Product> products) {
  std::map<std::string, Product> by_id;
  for (const auto& p : products) by_id.emplace(p.id, p);
  return by_id;
}

OrderRequest request(std::vector<contracts::OrderItem> items, std::string fulfilment = "SHIPPING") {
  return OrderRequest{"alice", std::move(items), std::move(fulfilment), std::nullopt};
}

Order order(OrderStatus status, std::string fulfilment = "SHIPPING") {
  Order o;
  o.id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  o.user_id = "alice";
  o.status = status;
  o.fulfilment = std::move(fulfilment);
  o.items = {{"seat-1", 2, 1500}};
  o.total_amount = 3000;
  o.currency = "KRW";
  return o;
}

const std::string payment_id = "0190a6b2-7c3e-7abc-8def-0000000000p1";

}  // namespace

TEST_CASE("an order for products on sale at their price with stock left passes") {
  const auto products = catalogue({product("a", 1000, 10), product("b", 500, 3, 1, 1)});
  CHECK(check_order(request({{"a", 10, 1000}, {"b", 1, 500}}), products, now).ok());
  CHECK(order_total({{"a", 10, 1000}, {"b", 1, 500}}) == 10500);
}

TEST_CASE("unknown products are named, all of them, as not found") {
  const auto products = catalogue({product("a", 1000, 10)});
  const auto s = check_order(request({{"x", 1, 1}, {"a", 1, 1000}, {"y", 1, 1}}), products, now);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().category == core::ErrorCategory::not_found);
  CHECK(s.error().code == "product-not-found");
  CHECK(s.error().message.find("x") != std::string::npos);
  CHECK(s.error().message.find("y") != std::string::npos);
}

TEST_CASE("a sale that has not opened refuses the order") {
  const auto products = catalogue({product("a", 1000, 10, 0, 0, now + 1min)});
  const auto s = check_order(request({{"a", 1, 1000}}), products, now);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().category == core::ErrorCategory::conflict);
  CHECK(s.error().code == "sale-not-open");
  // At the opening instant it is on sale.
  CHECK(check_order(request({{"a", 1, 1000}}), products, now + 1min).ok());
}

TEST_CASE("a unit price other than the product's is a price change") {
  const auto products = catalogue({product("a", 1000, 10)});
  const auto s = check_order(request({{"a", 1, 900}}), products, now);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "price-changed");
  CHECK(s.error().message.find("now 1000") != std::string::npos);
}

TEST_CASE("asking for more than is available counts holds and sales") {
  const auto products = catalogue({product("a", 1000, 10, 4, 5)});
  CHECK(check_order(request({{"a", 1, 1000}}), products, now).ok());
  const auto s = check_order(request({{"a", 2, 1000}}), products, now);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "out-of-stock");
  CHECK(s.error().message.find("1 available, 2 asked") != std::string::npos);
}

TEST_CASE("a missing product is reported before any other problem") {
  const auto products = catalogue({product("a", 1000, 1, 1)});
  CHECK(check_order(request({{"a", 5, 1}, {"zz", 1, 1}}), products, now).error().code == "product-not-found");
  CHECK(check_order(request({{"a", 5, 1}}), products, now).error().code == "price-changed");
}

TEST_CASE("a replayed request matches its order whatever event dates the stored lines carry") {
  auto stored = new_order(request({{"seat-1", 2, 1500}}), "id", now, 10min, "KRW");
  stored.items[0].event_date = "2026-12-24";
  CHECK(same_request(request({{"seat-1", 2, 1500}}), stored));
  CHECK_FALSE(same_request(request({{"seat-1", 3, 1500}}), stored));
}

TEST_CASE("an Idempotency-Key replays only the very same request") {
  auto stored = order(OrderStatus::pending_payment);
  CHECK(same_request(request({{"seat-1", 2, 1500}}), stored));
  CHECK_FALSE(same_request(request({{"seat-1", 3, 1500}}), stored));
  CHECK_FALSE(same_request(request({{"seat-1", 2, 1500}}, "WAREHOUSE"), stored));
  auto other_user = request({{"seat-1", 2, 1500}});
  other_user.user_id = "bob";
  CHECK_FALSE(same_request(other_user, stored));
}

TEST_CASE("creating a product again is the same product only with every value equal") {
  const ProductSpec spec{"a", "Seat a", 1000, 10, now};
  auto stored = product("a", 1000, 10, 3, 2, now);
  stored.name = "Seat a";
  CHECK(same_product(spec, stored));  // holds and sales do not matter
  auto other = spec;
  other.total_stock = 11;
  CHECK_FALSE(same_product(other, stored));
  other = spec;
  other.sale_opens_at = now + 1ms;
  CHECK_FALSE(same_product(other, stored));
  other = spec;
  other.unit_price = 999;
  CHECK_FALSE(same_product(other, stored));
}

TEST_CASE("payment.completed fulfils a pending order as far as its fulfilment goes at once") {
  const auto shipping = decide_payment_completed(order(OrderStatus::pending_payment, "SHIPPING"), payment_id);
  CHECK(shipping.effect == Effect::complete);
  CHECK(shipping.path == std::vector{OrderStatus::payment_completed, OrderStatus::preparing});

  const auto warehouse = decide_payment_completed(order(OrderStatus::pending_payment, "WAREHOUSE"), payment_id);
  CHECK(warehouse.effect == Effect::complete);
  CHECK(warehouse.final_status(OrderStatus::pending_payment) == OrderStatus::completed);
  CHECK(warehouse.path ==
        std::vector{OrderStatus::payment_completed, OrderStatus::in_warehouse, OrderStatus::completed});
}

TEST_CASE("payment.completed for a cancelled or expired order asks for a refund with the reason") {
  const auto cancelled = decide_payment_completed(order(OrderStatus::cancelled), payment_id);
  CHECK(cancelled.effect == Effect::request_refund);
  CHECK(cancelled.reason == "ORDER_CANCELLED");
  CHECK(cancelled.path == std::vector{OrderStatus::refund_requested});
  const auto expired = decide_payment_completed(order(OrderStatus::expired), payment_id);
  CHECK(expired.effect == Effect::request_refund);
  CHECK(expired.reason == "ORDER_EXPIRED");
}

TEST_CASE("payment.completed in any other status changes nothing") {
  for (const auto s : {OrderStatus::payment_completed, OrderStatus::preparing, OrderStatus::in_warehouse,
                       OrderStatus::shipment_started, OrderStatus::in_transit, OrderStatus::completed,
                       OrderStatus::refund_requested, OrderStatus::refunded}) {
    auto o = order(s);
    o.payment_id = payment_id;
    const auto d = decide_payment_completed(o, payment_id);
    INFO(to_string(s));
    CHECK(d.effect == Effect::none);
    CHECK(d.path.empty());
    CHECK(d.note.find("already applied") != std::string::npos);
  }
}

TEST_CASE("payment.failed cancels only a pending order") {
  const auto d = decide_payment_failed(order(OrderStatus::pending_payment));
  CHECK(d.effect == Effect::cancel);
  CHECK(d.reason == "PAYMENT_FAILED");
  CHECK(d.path == std::vector{OrderStatus::cancelled});
  for (const auto s : {OrderStatus::cancelled, OrderStatus::expired, OrderStatus::preparing, OrderStatus::completed}) {
    CHECK(decide_payment_failed(order(s)).effect == Effect::none);
  }
}

TEST_CASE("expiry applies to pending orders only") {
  const auto d = decide_expiry(order(OrderStatus::pending_payment));
  CHECK(d.effect == Effect::cancel);
  CHECK(d.reason == "EXPIRED");
  CHECK(d.path == std::vector{OrderStatus::expired});
  CHECK(decide_expiry(order(OrderStatus::preparing)).effect == Effect::none);
}

TEST_CASE("payment.refunded ends the saga once") {
  CHECK(decide_payment_refunded(order(OrderStatus::refund_requested)).effect == Effect::mark_refunded);
  CHECK(decide_payment_refunded(order(OrderStatus::refunded)).effect == Effect::none);
  CHECK(decide_payment_refunded(order(OrderStatus::pending_payment)).effect == Effect::none);
}

TEST_CASE("a user cancels their own unpaid order and nothing else") {
  auto ok = decide_user_cancel(order(OrderStatus::pending_payment), "alice");
  REQUIRE(ok.ok());
  CHECK(ok->effect == Effect::cancel);
  CHECK(ok->reason == "USER_CANCELLED");

  auto foreign = decide_user_cancel(order(OrderStatus::pending_payment), "mallory");
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().category == core::ErrorCategory::forbidden);

  for (const auto s : all_statuses()) {
    if (s == OrderStatus::pending_payment) continue;
    auto refused = decide_user_cancel(order(s), "alice");
    INFO(to_string(s));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().category == core::ErrorCategory::conflict);
  }
}

namespace {

Order paid(OrderStatus status, std::string fulfilment = "SHIPPING", core::SystemTime paid_at = now - 1h) {
  auto o = order(status, std::move(fulfilment));
  o.payment_id = payment_id;
  o.paid_at = core::format_rfc3339(paid_at);
  o.updated_at = *o.paid_at;
  return o;
}

constexpr auto window = std::chrono::milliseconds(24h);

}  // namespace

TEST_CASE("a user refunds their own paid order before it ships, within the window") {
  for (const auto s : {OrderStatus::payment_completed, OrderStatus::preparing, OrderStatus::in_warehouse}) {
    INFO(to_string(s));
    auto ok = decide_user_refund(paid(s), "alice", now, window);
    REQUIRE(ok.ok());
    CHECK(ok->effect == Effect::refund);
    CHECK(ok->final_status(s) == OrderStatus::refund_requested);
    CHECK(ok->reason == "USER_REQUESTED");
  }
  // A warehouse order ships nothing: completed, it is still refundable on request.
  auto warehouse = decide_user_refund(paid(OrderStatus::completed, "WAREHOUSE"), "alice", now, window);
  REQUIRE(warehouse.ok());
  CHECK(warehouse->effect == Effect::refund);
}

TEST_CASE("a user's refund: another user's order is forbidden, the window closes, state conflicts are 409") {
  auto foreign = decide_user_refund(paid(OrderStatus::preparing), "mallory", now, window);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().category == core::ErrorCategory::forbidden);

  auto late = decide_user_refund(paid(OrderStatus::preparing, "SHIPPING", now - window - 1ms), "alice", now, window);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().category == core::ErrorCategory::conflict);
  CHECK(late.error().code == "refund-window-closed");
  CHECK(decide_user_refund(paid(OrderStatus::preparing, "SHIPPING", now - window), "alice", now, window).ok());
  // Paid before paidAt was recorded: the payment was its last change.
  auto legacy = paid(OrderStatus::preparing);
  legacy.paid_at.reset();
  legacy.updated_at = core::format_rfc3339(now - window - 1s);
  CHECK(decide_user_refund(legacy, "alice", now, window).error().code == "refund-window-closed");

  for (const auto s : {OrderStatus::pending_payment, OrderStatus::shipment_started, OrderStatus::in_transit,
                       OrderStatus::completed, OrderStatus::cancelled, OrderStatus::expired}) {
    INFO(to_string(s));
    auto refused = decide_user_refund(paid(s), "alice", now, window);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().category == core::ErrorCategory::conflict);
    CHECK(refused.error().code == "order-not-refundable");
  }
}

TEST_CASE("asking for a refund again is the one refund going on, not a second one") {
  for (const auto s : {OrderStatus::refund_requested, OrderStatus::refunded}) {
    INFO(to_string(s));
    auto again = decide_user_refund(paid(s), "alice", now, window);
    REQUIRE(again.ok());
    CHECK(again->effect == Effect::none);
    auto admin_again = decide_admin_refund(paid(s));
    REQUIRE(admin_again.ok());
    CHECK(admin_again->effect == Effect::none);
  }
  // Even long after the window: the answer is the refund's state, not a refusal.
  auto old = decide_user_refund(paid(OrderStatus::refunded, "SHIPPING", now - 1000h), "alice", now, window);
  REQUIRE(old.ok());
  CHECK(old->effect == Effect::none);
}

TEST_CASE("an admin refunds any paid order, shipped or not, and no unpaid one") {
  for (const auto s : {OrderStatus::payment_completed, OrderStatus::preparing, OrderStatus::in_warehouse,
                       OrderStatus::shipment_started, OrderStatus::in_transit, OrderStatus::completed}) {
    INFO(to_string(s));
    auto ok = decide_admin_refund(paid(s, "SHIPPING", now - 1000h));
    REQUIRE(ok.ok());
    CHECK(ok->effect == Effect::refund);
    CHECK(ok->reason == "ADMIN_REFUND");
  }
  for (const auto s : {OrderStatus::pending_payment, OrderStatus::cancelled, OrderStatus::expired}) {
    INFO(to_string(s));
    auto unpaid = order(s);
    auto refused = decide_admin_refund(unpaid);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "order-not-refundable");
  }
}

TEST_CASE("fulfilment advances a shipping order one step at a time") {
  auto started = decide_fulfilment(order(OrderStatus::preparing), OrderStatus::shipment_started);
  REQUIRE(started.ok());
  CHECK(started->effect == Effect::advance);
  CHECK(started->path == std::vector{OrderStatus::shipment_started});

  auto skipped = decide_fulfilment(order(OrderStatus::preparing), OrderStatus::completed);
  REQUIRE_FALSE(skipped.ok());
  CHECK(skipped.error().code == "transition-not-allowed");

  auto again = decide_fulfilment(order(OrderStatus::in_transit), OrderStatus::in_transit);
  REQUIRE(again.ok());
  CHECK(again->effect == Effect::none);

  auto warehouse = decide_fulfilment(order(OrderStatus::completed, "WAREHOUSE"), OrderStatus::in_transit);
  REQUIRE_FALSE(warehouse.ok());
  CHECK(warehouse.error().code == "not-a-shipping-order");

  auto unpaid = decide_fulfilment(order(OrderStatus::pending_payment), OrderStatus::shipment_started);
  REQUIRE_FALSE(unpaid.ok());
  CHECK(unpaid.error().category == core::ErrorCategory::conflict);

  auto wrong = decide_fulfilment(order(OrderStatus::preparing), OrderStatus::refunded);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().category == core::ErrorCategory::invalid_input);
}

TEST_CASE("a batch is decided request by request: stock taken by one is gone for the next") {
  PlacementView view;
  view.products = catalogue({product("a", 100, 3), product("b", 50, 10)});
  const std::vector<OrderRequest> requests{
      request({{"a", 2, 100}}),
      request({{"a", 2, 100}}),               // only 1 left
      request({{"a", 1, 100}, {"b", 4, 50}}),
      request({{"zz", 1, 1}}),
  };
  std::vector<Order> drafts;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    drafts.push_back(new_order(requests[i], "id-" + std::to_string(i), now, 10min, "KRW"));
  }
  const auto placements = decide_orders(requests, drafts, view, now);
  REQUIRE(placements.size() == 4);
  CHECK(placements[0].verdict == Verdict::place);
  CHECK(placements[0].order.id == "id-0");
  CHECK(placements[1].verdict == Verdict::refuse);
  CHECK(placements[1].error.code == "out-of-stock");
  CHECK(placements[2].verdict == Verdict::place);
  CHECK(placements[3].error.code == "product-not-found");
  CHECK(view.products["a"].held == 3);
  CHECK(view.products["b"].held == 4);
}

TEST_CASE("a new order is pending payment until now + ttl, with its total") {
  const auto o = new_order(request({{"a", 3, 250}}, "WAREHOUSE"), "x", now, 10min, "KRW");
  CHECK(o.status == OrderStatus::pending_payment);
  CHECK(o.total_amount == 750);
  CHECK(o.expires_at == core::format_rfc3339(now + 10min));
  CHECK(o.created_at == o.updated_at);
  CHECK(o.fulfilment == "WAREHOUSE");
  CHECK_FALSE(o.payment_id.has_value());
}

TEST_CASE("one Idempotency-Key twice in a batch, or already used, replays or is refused") {
  PlacementView view;
  view.products = catalogue({product("a", 100, 10)});
  auto earlier = new_order(request({{"a", 1, 100}}), "earlier", now - 1min, 10min, "KRW");
  view.by_key[{"alice", "old"}] = earlier;
  auto keyed = [](std::vector<contracts::OrderItem> items, std::string key) {
    auto r = request(std::move(items));
    r.idempotency_key = std::move(key);
    return r;
  };
  const std::vector<OrderRequest> requests{
      keyed({{"a", 1, 100}}, "old"),  // the earlier order
      keyed({{"a", 5, 100}}, "old"),  // another request under that key
      keyed({{"a", 2, 100}}, "new"), keyed({{"a", 2, 100}}, "new"),  // the same again in this batch
  };
  std::vector<Order> drafts;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    drafts.push_back(new_order(requests[i], "d" + std::to_string(i), now, 10min, "KRW"));
  }
  const auto placements = decide_orders(requests, drafts, view, now);
  CHECK(placements[0].verdict == Verdict::replay);
  CHECK(placements[0].order.id == "earlier");
  CHECK(placements[1].verdict == Verdict::refuse);
  CHECK(placements[1].error.category == core::ErrorCategory::unprocessable);
  CHECK(placements[2].verdict == Verdict::place);
  CHECK(placements[3].verdict == Verdict::replay);
  CHECK(placements[3].order.id == "d2");
  CHECK(view.products["a"].held == 2);
}
