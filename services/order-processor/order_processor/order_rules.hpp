#pragma once
// The rules of products and orders, as pure code: no database, no Kafka. Given what the
// store read, decide what happens; order_store.cpp then writes exactly that.
// Unit-tested on their own (tests/unit/order_rules_test.cpp).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "order_processor/order_state.hpp"

namespace paypipe::order_processor {

// POST /v1/products: what an admin asks for.
struct ProductSpec {
  std::string id;
  std::string name;
  std::int64_t unit_price = 0;  // minor units
  std::int64_t total_stock = 0;
  core::SystemTime sale_opens_at;
  // Tickets: the event's date or date and time (contracts::read_event_date, as given) and
  // venue; optional.
  std::optional<std::string> event_date = std::nullopt;
  std::optional<std::string> venue = std::nullopt;
};

// A product as stored, with its stock counters.
struct Product {
  std::string id;
  std::string name;
  std::int64_t unit_price = 0;
  std::string currency;
  std::int64_t total_stock = 0;
  std::int64_t held = 0;  // by orders awaiting payment
  std::int64_t sold = 0;  // to paid orders
  core::SystemTime sale_opens_at;
  std::optional<std::string> sold_out_at;  // RFC 3339
  std::string created_at;                  // RFC 3339
  std::string updated_at;
  std::optional<std::string> event_date = std::nullopt;  // a date or RFC 3339, as given
  std::optional<std::string> venue = std::nullopt;

  std::int64_t available() const { return total_stock - held - sold; }
};

// Creating a product again with the very same values changes nothing; other values
// are a conflict (the stock and price of a product on sale never change silently).
bool same_product(const ProductSpec& spec, const Product& stored);

// POST /v1/orders, parsed and validated field by field (http_codecs.hpp).
struct OrderRequest {
  std::string user_id;
  std::vector<contracts::OrderItem> items;
  std::string fulfilment;  // SHIPPING | WAREHOUSE
  std::optional<std::string> idempotency_key;
};

// quantity x unitPrice over the items; the parser bounds it by contracts::max_amount.
std::int64_t order_total(const std::vector<contracts::OrderItem>& items);

// An order as stored.
struct Order {
  std::string id;
  std::string user_id;
  OrderStatus status = OrderStatus::created;
  std::string fulfilment;
  std::vector<contracts::OrderItem> items;
  std::int64_t total_amount = 0;
  std::string currency;
  std::string expires_at;  // RFC 3339
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> payment_id;
  std::optional<std::string> cancel_reason;  // PAYMENT_FAILED | EXPIRED | USER_CANCELLED
  std::optional<std::string> paid_at{};        // RFC 3339, when payment.completed completed it
  std::optional<std::string> refund_reason{};  // a refund_reason::* once a refund was asked for
};

// Why a refund was asked for: payment.refund-requested's and order.refunded's `reason`.
namespace refund_reason {
inline constexpr std::string_view order_cancelled = "ORDER_CANCELLED";  // a payment arrived after the cancel
inline constexpr std::string_view order_expired = "ORDER_EXPIRED";      // a payment arrived after the expiry
inline constexpr std::string_view user_requested = "USER_REQUESTED";
inline constexpr std::string_view admin_refund = "ADMIN_REFUND";
}  // namespace refund_reason

// A request carrying an Idempotency-Key that an earlier order used: the same request
// (user, items in order as contracts::same_lines compares them, fulfilment) replays
// that order, another one is refused (422).
bool same_request(const OrderRequest& request, const Order& stored);

// Can `request` be placed against `products` (by id, as read without locks) at `now`?
// Errors, in this order, each naming every product concerned:
//   not_found   product-not-found     (404)
//   conflict    sale-not-open         (409) the product's sale opens later
//   conflict    price-changed         (409) the client's unitPrice is not the product's price
//   conflict    out-of-stock          (409) fewer available than asked (at the time of reading;
//                                           the conditional UPDATE decides for good)
core::Status check_order(const OrderRequest& request, const std::map<std::string, Product>& products,
                         core::SystemTime now);

// The order `request` becomes when it is placed at `now`: PENDING_PAYMENT until now + ttl.
Order new_order(const OrderRequest& request, std::string id, core::SystemTime now, std::chrono::milliseconds ttl,
                const std::string& currency);

// What the store read for a batch of order requests: the products (by id) and the
// orders their Idempotency-Keys placed before (by user and key).
struct PlacementView {
  std::map<std::string, Product> products;
  std::map<std::pair<std::string, std::string>, Order> by_key;
};

enum class Verdict {
  place,   // the new order: hold its stock, store it, order.created
  replay,  // the order this Idempotency-Key placed (earlier, or earlier in the batch)
  refuse,  // `error` says why (check_order's errors, or idempotency-key-reused)
};

struct Placement {
  Verdict verdict = Verdict::refuse;
  Order order;        // place: the new order; replay: the earlier one
  core::Error error;  // refuse
};

// Decides a batch of requests one after another against `view`, which each placement
// updates (its holds, its key), so requests of one batch see each other exactly as
// requests in sequence would: the stock one takes is not there for the next, the same
// key twice replays. `drafts[i]` is request i's order if it is placed (new_order).
std::vector<Placement> decide_orders(std::span<const OrderRequest> requests, std::span<const Order> drafts,
                                     PlacementView& view, core::SystemTime now);

// What an event or a request does to an order. `path` is walked through the state
// machine; `effect` says what else is written besides the status.
enum class Effect {
  none,            // nothing changes (duplicate, late or out-of-place event)
  complete,        // paid: the hold becomes a sale, order.completed (+ product.sold-out)
  cancel,          // the hold is released, order.cancelled with `reason`
  request_refund,  // a late payment of a given-up order: payment.refund-requested
  refund,          // a paid order: its units back on sale, payment.refund-requested
  mark_refunded,   // the saga is over: order.refunded
  advance,         // fulfilment progress (admin), nothing else
};

struct Decision {
  Effect effect = Effect::none;
  std::vector<OrderStatus> path;  // the statuses it goes through; the last is the new status
  std::string reason;             // cancel reason (order.cancelled) or refund reason
  std::string note;               // why nothing changes, for the log

  OrderStatus final_status(OrderStatus current) const { return path.empty() ? current : path.back(); }
};

// payment.completed: a PENDING_PAYMENT order is paid and fulfilled as far as it goes at
// once (PAYMENT_COMPLETED -> PREPARING for SHIPPING, -> IN_WAREHOUSE -> COMPLETED for
// WAREHOUSE); a CANCELLED or EXPIRED order asks for a refund; anything else is a
// duplicate or a late event and changes nothing.
Decision decide_payment_completed(const Order& order, const std::string& payment_id);
// payment.failed: a PENDING_PAYMENT order is cancelled (PAYMENT_FAILED).
Decision decide_payment_failed(const Order& order);
// The expiry sweep: a PENDING_PAYMENT order past its deadline becomes EXPIRED.
Decision decide_expiry(const Order& order);
// payment.refunded: a REFUND_REQUESTED order becomes REFUNDED (order.refunded).
Decision decide_payment_refunded(const Order& order);
// The user's refund (POST /v1/orders/{id}/refund) at `now`:
//   forbidden (403) order-of-another-user   (the route answers 404 first: owners are never shown)
//   conflict (409)  order-not-refundable    unpaid, cancelled, or handed to a carrier; a
//                                           WAREHOUSE order ships nothing, so its COMPLETED
//                                           still qualifies
//   conflict (409)  refund-window-closed    more than `window` since it was paid
// An order already REFUND_REQUESTED or REFUNDED is a no-op (Decision{}): asking twice is
// one refund. Refunds are of whole orders (docs/architecture.md says why not by line).
core::Result<Decision> decide_user_refund(const Order& order, const std::string& user_id, core::SystemTime now,
                                          std::chrono::milliseconds window);
// The admin's refund of any paid order, shipped or not; the same no-op for an order
// already being refunded; conflict (409) order-not-refundable for an unpaid one.
core::Result<Decision> decide_admin_refund(const Order& order);
// The user's cancel: forbidden (403) for someone else's order, conflict (409) unless cancellable.
core::Result<Decision> decide_user_cancel(const Order& order, const std::string& user_id);
// The admin's fulfilment progress of a SHIPPING order: one step of the state machine
// (SHIPMENT_STARTED, IN_TRANSIT, COMPLETED); asking for the current status again is a
// no-op, so a retried call succeeds.
core::Result<Decision> decide_fulfilment(const Order& order, OrderStatus target);

}  // namespace paypipe::order_processor
