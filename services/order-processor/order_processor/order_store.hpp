#pragma once
// order-processor's SQL: products and their stock, orders, their status changes with
// the stock and the events that go with them, and the expiry sweep. What to write and
// which events to announce is decided before, in pure code (order_rules.hpp,
// order_effects.hpp); the store writes it, appending the events to the outbox in the
// same transaction. Multi-statement writes are pg::Pipelines: one round trip per batch.
//
// Locking, so that nothing deadlocks and nothing oversells:
//   * product rows are always locked in product-id order (SELECT ... ORDER BY id FOR
//     UPDATE) before their counters change, in every transaction that changes them;
//   * an order row is locked (FOR UPDATE) before its status changes; the sweep takes
//     orders with SKIP LOCKED, so replicas sweeping at once never wait for, nor expire,
//     the same order;
//   * the CHECK held + sold <= total_stock is the last word on overselling.

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "core/time.hpp"
#include "core/trace.hpp"
#include "order_processor/order_effects.hpp"
#include "order_processor/order_rules.hpp"
#include "pg/pg.hpp"

namespace paypipe::order_processor {

// POST /v1/products. `created` is false when the same product already existed (then
// nothing changed); a product with the same id and other values is a conflict.
struct ProductWrite {
  Product product;
  bool created = false;
};
core::Result<ProductWrite> create_product(pg::Connection& connection, const ProductSpec& spec,
                                          const std::string& currency);
core::Result<std::optional<Product>> find_product(pg::Connection& connection, const std::string& product_id);

// POST /v1/orders: each order in ONE transaction with its stock hold (a conditional
// UPDATE, rows locked in product-id order) and its order.created. Requests that arrive
// together share that transaction (a group commit; `requests` of one): two round
// trips for the batch, one read without locks (the products, the Idempotency-Keys'
// earlier orders) to decide them in order with decide_orders, one pipelined write
// ending in COMMIT. If the write finds the stock (or a key) taken by another
// transaction since the read, it is rolled back whole and every request is placed
// again on its own, so one request never decides another's answer. A request whose
// Idempotency-Key already placed the same order gets that order back (`replayed`);
// the key with another request is unprocessable (422). One result per request;
// `traces` continue each request's trace into its order.created.
struct OrderSettings {
  std::chrono::milliseconds ttl{600000};
  std::string currency = "KRW";
};
struct PlacedOrder {
  Order order;
  bool replayed = false;
};
std::vector<core::Result<PlacedOrder>> place_orders(pg::Connection& connection, std::span<const OrderRequest> requests,
                                                    std::span<const core::TraceContext> traces,
                                                    const OrderSettings& settings, core::SystemTime now);
// One request, with the current trace.
core::Result<PlacedOrder> place_order(pg::Connection& connection, const OrderRequest& request,
                                      const OrderSettings& settings, core::SystemTime now);

core::Result<std::optional<Order>> find_order(pg::Connection& connection, const std::string& order_id);
// The order, locked until the end of `tx`.
core::Result<std::optional<Order>> lock_order(pg::Transaction& tx, const std::string& order_id);
// The orders among `order_ids` that exist, locked until the end of `tx`, by the id as
// asked for. One statement; rows are locked in id order, so two transactions locking
// overlapping sets never wait for each other in a cycle.
core::Result<std::map<std::string, Order>> lock_orders(pg::Transaction& tx, const std::set<std::string>& order_ids);

// Writes `changes` (change_for's, order_effects.hpp, of orders locked in `tx`, in the
// order they were decided: a later change of an order was decided on the earlier's
// `after`) with one statement per step over arrays, whatever their number: each
// order's last state; the stock moves, products locked in id order, one UPDATE per kind
// of move; product.sold-out for every product whose last unit they sold (at `now`);
// and every change's events into the outbox, in `changes`' order. One round trip, plus
// one when a product sells out. A sale and a refund of one product in one call count as
// their sum (payment results never refund: a refund is a request of its own).
core::Status write_changes(pg::Transaction& tx, std::span<const Change> changes, core::SystemTime now);

// Writes `decision` for `order` (locked in `tx`): write_changes with change_for's one
// change. Returns the order as it now is. Effect::none writes nothing.
core::Result<Order> apply_decision(pg::Transaction& tx, const Order& order, const Decision& decision,
                                   const std::optional<PaymentRef>& payment, core::SystemTime now);

// One batch of the expiry sweep, in one transaction: up to `limit` PENDING_PAYMENT
// orders whose expiresAt is at or before `deadline`, taken FOR UPDATE SKIP LOCKED,
// become EXPIRED, their holds are released and order.cancelled (EXPIRED) is appended
// for each. Returns how many expired.
core::Result<std::size_t> expire_batch(pg::Connection& connection, core::SystemTime deadline, std::size_t limit,
                                       core::SystemTime now);

}  // namespace paypipe::order_processor
