#pragma once
// What a placement or a decision writes, decided without the database: the order as it
// becomes, the stock it moves and the events it announces. Pure code, unit-tested in
// tests/unit/order_effects_test.cpp: these events are the contract with payment-api,
// the notifiers, coupon-issuer and ranking-updater. order_store.cpp only writes them.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/product_sold_out.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "events/envelope.hpp"
#include "order_processor/order_rules.hpp"

namespace paypipe::order_processor {

inline constexpr std::string_view event_source = "/paypipe/order-processor";

// order.created for an order just placed, keyed by its id, in the current trace.
events::Event created_event(const Order& order);

// The payment an event is about: completing an order records it, a refund returns it.
struct PaymentRef {
  std::string payment_id;
  std::int64_t amount = 0;
  std::string currency;
};

enum class StockMove {
  none,
  sell,     // the order's hold becomes a sale
  release,  // the order's hold goes back to available
  unsell,   // a refunded order's sale goes back to available
};

struct Change {
  Order after;  // status, payment, cancel reason and updated_at as written
  StockMove stock = StockMove::none;
  std::vector<events::Event> events;  // keyed by the order id
};

// What `decision` does to `order` (as read, locked) at `now`:
//   complete        the payment and paidAt recorded, the hold sold, order.completed (then
//                   product.sold-out for what the sale emptied: sold_out_events)
//   cancel          the reason recorded, the hold released, order.cancelled
//   request_refund  the payment and the refund reason recorded, payment.refund-requested
//   refund          the refund reason recorded, the sale undone, payment.refund-requested
//                   for the order's payment and total
//   mark_refunded   order.refunded with the recorded reason
//   advance         the status only
//   none            nothing: `after` is `order`
// Errors: a path the state machine refuses (internal), complete or request_refund
// without `payment`, refund or mark_refunded of an order without one (internal).
core::Result<Change> change_for(const Order& order, const Decision& decision, const std::optional<PaymentRef>& payment,
                                core::SystemTime now);

// product.sold-out, keyed by product id, for each product whose last unit was just sold.
std::vector<events::Event> sold_out_events(std::span<const contracts::ProductSoldOut> products);

}  // namespace paypipe::order_processor
