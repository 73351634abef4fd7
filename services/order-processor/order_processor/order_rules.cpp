#include "order_processor/order_rules.hpp"

#include <algorithm>

namespace paypipe::order_processor {

namespace {

using S = OrderStatus;

std::string list(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& p : parts) {
    if (!text.empty()) text += ", ";
    text += p;
  }
  return text;
}

// The decision that walks `path`, or no change (with the reason) if the state machine refuses it.
Decision along(const Order& order, Effect effect, std::vector<OrderStatus> path, std::string reason) {
  if (auto walked = walk(order.status, path); !walked) {
    Decision none;
    none.note = walked.error().message;
    return none;
  }
  return Decision{effect, std::move(path), std::move(reason), {}};
}

}  // namespace

namespace {

// Two RFC 3339 texts of one instant are the same date ("+09:00" as given, "Z" as stored).
bool same_instant(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  if (*a == *b) return true;  // also a plain date, which is no instant
  const auto x = core::parse_rfc3339(*a);
  const auto y = core::parse_rfc3339(*b);
  return x && y && *x == *y;
}

}  // namespace

bool same_product(const ProductSpec& spec, const Product& stored) {
  return spec.id == stored.id && spec.name == stored.name && spec.unit_price == stored.unit_price &&
         spec.total_stock == stored.total_stock && spec.sale_opens_at == stored.sale_opens_at &&
         same_instant(spec.event_date, stored.event_date) && spec.venue == stored.venue;
}

std::int64_t order_total(const std::vector<contracts::OrderItem>& items) {
  std::int64_t total = 0;
  for (const auto& item : items) total += item.quantity * item.unit_price;
  return total;
}

bool same_request(const OrderRequest& request, const Order& stored) {
  return request.user_id == stored.user_id && request.fulfilment == stored.fulfilment &&
         contracts::same_lines(request.items, stored.items);
}

core::Status check_order(const OrderRequest& request, const std::map<std::string, Product>& products,
                         core::SystemTime now) {
  std::vector<std::string> missing, closed, repriced, short_of;
  for (const auto& item : request.items) {
    const auto it = products.find(item.product_id);
    if (it == products.end()) {
      missing.push_back(item.product_id);
      continue;
    }
    const auto& product = it->second;
    if (product.sale_opens_at > now) {
      closed.push_back(item.product_id + " (opens " + core::format_rfc3339(product.sale_opens_at) + ")");
    }
    if (product.unit_price != item.unit_price) {
      repriced.push_back(item.product_id + " (now " + std::to_string(product.unit_price) + ", not " +
                         std::to_string(item.unit_price) + ")");
    }
    if (product.available() < item.quantity) {
      short_of.push_back(item.product_id + " (" + std::to_string(product.available()) + " available, " +
                         std::to_string(item.quantity) + " asked)");
    }
  }
  using core::ErrorCategory;
  if (!missing.empty()) {
    return core::make_error(ErrorCategory::not_found, "product-not-found", "no such product: " + list(missing));
  }
  if (!closed.empty()) {
    return core::make_error(ErrorCategory::conflict, "sale-not-open", "the sale has not opened yet: " + list(closed));
  }
  if (!repriced.empty()) {
    return core::make_error(ErrorCategory::conflict, "price-changed",
                            "the price changed; reload the product: " + list(repriced));
  }
  if (!short_of.empty()) {
    return core::make_error(ErrorCategory::conflict, "out-of-stock", "not enough stock: " + list(short_of));
  }
  return {};
}

Order new_order(const OrderRequest& request, std::string id, core::SystemTime now, std::chrono::milliseconds ttl,
                const std::string& currency) {
  Order order;
  order.id = std::move(id);
  order.user_id = request.user_id;
  order.status = OrderStatus::pending_payment;
  order.fulfilment = request.fulfilment;
  order.items = request.items;
  order.total_amount = order_total(request.items);
  order.currency = currency;
  order.expires_at = core::format_rfc3339(now + ttl);
  order.created_at = core::format_rfc3339(now);
  order.updated_at = order.created_at;
  return order;
}

std::vector<Placement> decide_orders(std::span<const OrderRequest> requests, std::span<const Order> drafts,
                                     PlacementView& view, core::SystemTime now) {
  std::vector<Placement> placements;
  placements.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& request = requests[i];
    Placement placement;
    if (request.idempotency_key) {
      const auto earlier = view.by_key.find({request.user_id, *request.idempotency_key});
      if (earlier != view.by_key.end()) {
        if (same_request(request, earlier->second)) {
          placement.verdict = Verdict::replay;
          placement.order = earlier->second;
        } else {
          placement.error = core::make_error(core::ErrorCategory::unprocessable, "idempotency-key-reused",
                                             "this Idempotency-Key was already used for a different order");
        }
        placements.push_back(std::move(placement));
        continue;
      }
    }
    if (auto checked = check_order(request, view.products, now); !checked) {
      placement.error = checked.error();
      placements.push_back(std::move(placement));
      continue;
    }
    for (const auto& item : request.items) view.products[item.product_id].held += item.quantity;
    if (request.idempotency_key) view.by_key[{request.user_id, *request.idempotency_key}] = drafts[i];
    placement.verdict = Verdict::place;
    placement.order = drafts[i];
    placements.push_back(std::move(placement));
  }
  return placements;
}

Decision decide_payment_completed(const Order& order, const std::string& payment_id) {
  switch (order.status) {
    case S::pending_payment:
      if (order.fulfilment == "WAREHOUSE") {
        return along(order, Effect::complete, {S::payment_completed, S::in_warehouse, S::completed}, {});
      }
      return along(order, Effect::complete, {S::payment_completed, S::preparing}, {});
    case S::cancelled:
      return along(order, Effect::request_refund, {S::refund_requested}, std::string(refund_reason::order_cancelled));
    case S::expired:
      return along(order, Effect::request_refund, {S::refund_requested}, std::string(refund_reason::order_expired));
    default: break;
  }
  Decision none;
  none.note = order.payment_id == payment_id
                  ? "payment " + payment_id + " was already applied"
                  : "order is " + std::string(to_string(order.status)) + "; payment " + payment_id + " ignored";
  return none;
}

Decision decide_payment_failed(const Order& order) {
  return along(order, Effect::cancel, {S::cancelled}, "PAYMENT_FAILED");
}

Decision decide_expiry(const Order& order) { return along(order, Effect::cancel, {S::expired}, "EXPIRED"); }

Decision decide_payment_refunded(const Order& order) { return along(order, Effect::mark_refunded, {S::refunded}, {}); }

core::Result<Decision> decide_user_cancel(const Order& order, const std::string& user_id) {
  if (order.user_id != user_id) {
    return core::make_error(core::ErrorCategory::forbidden, "order-of-another-user",
                            "order " + order.id + " belongs to another user");
  }
  if (!info(order.status).cancellable) {
    return core::make_error(
        core::ErrorCategory::conflict, "order-not-cancellable",
        "order " + order.id + " is " + std::string(to_string(order.status)) + " and can no longer be cancelled");
  }
  auto decision = along(order, Effect::cancel, {S::cancelled}, "USER_CANCELLED");
  if (decision.effect == Effect::none) {
    return core::make_error(core::ErrorCategory::conflict, "order-not-cancellable", decision.note);
  }
  return decision;
}

namespace {

bool being_refunded(const Order& order) { return order.status == S::refund_requested || order.status == S::refunded; }

core::Error not_refundable(const Order& order, const std::string& why) {
  return core::make_error(core::ErrorCategory::conflict, "order-not-refundable",
                          "order " + order.id + " is " + std::string(to_string(order.status)) + ": " + why);
}

// The refund of a paid order, or the state machine's refusal as a conflict.
core::Result<Decision> refund_paid(const Order& order, std::string_view reason) {
  if (!order.payment_id) return not_refundable(order, "it has no payment to refund");
  auto decision = along(order, Effect::refund, {S::refund_requested}, std::string(reason));
  if (decision.effect == Effect::none) return not_refundable(order, "it is not paid");
  return decision;
}

}  // namespace

core::Result<Decision> decide_user_refund(const Order& order, const std::string& user_id, core::SystemTime now,
                                          std::chrono::milliseconds window) {
  if (order.user_id != user_id) {
    return core::make_error(core::ErrorCategory::forbidden, "order-of-another-user",
                            "order " + order.id + " belongs to another user");
  }
  if (being_refunded(order)) return Decision{};  // asked again: the one refund goes on
  const bool warehouse_done = order.status == S::completed && order.fulfilment == "WAREHOUSE";
  if (!info(order.status).refundable_by_user && !warehouse_done) {
    return not_refundable(order, "only a paid order that has not shipped can be refunded on request");
  }
  // Orders paid before paidAt was recorded: their last change was the payment.
  const auto paid = core::parse_rfc3339(order.paid_at.value_or(order.updated_at));
  if (paid && now > *paid + window) {
    return core::make_error(core::ErrorCategory::conflict, "refund-window-closed",
                            "order " + order.id + " was paid at " + core::format_rfc3339(*paid) +
                                "; refunds on request close " + core::format_rfc3339(*paid + window));
  }
  return refund_paid(order, refund_reason::user_requested);
}

core::Result<Decision> decide_admin_refund(const Order& order) {
  if (being_refunded(order)) return Decision{};
  return refund_paid(order, refund_reason::admin_refund);
}

core::Result<Decision> decide_fulfilment(const Order& order, OrderStatus target) {
  if (target != S::shipment_started && target != S::in_transit && target != S::completed) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-fulfilment-status",
                            "status: must be one of SHIPMENT_STARTED, IN_TRANSIT, COMPLETED");
  }
  if (order.fulfilment != "SHIPPING") {
    return core::make_error(core::ErrorCategory::conflict, "not-a-shipping-order",
                            "order " + order.id + " is fulfilled at the warehouse; it has no shipment to advance");
  }
  if (order.status == target) return Decision{};  // a retried call: already there
  auto decision = along(order, Effect::advance, {target}, {});
  if (decision.effect == Effect::none) {
    return core::make_error(core::ErrorCategory::conflict, "transition-not-allowed", decision.note);
  }
  return decision;
}

}  // namespace paypipe::order_processor
