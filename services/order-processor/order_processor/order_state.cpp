#include "order_processor/order_state.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace paypipe::order_processor {

namespace {

using S = OrderStatus;

constexpr std::array<OrderStatus, status_count> statuses{
    S::created,    S::pending_payment, S::payment_completed, S::preparing, S::in_warehouse, S::shipment_started,
    S::in_transit, S::completed,       S::refund_requested,  S::refunded,  S::cancelled,    S::expired,
};

constexpr std::array<std::string_view, status_count> names{
    "CREATED",    "PENDING_PAYMENT", "PAYMENT_COMPLETED", "PREPARING", "IN_WAREHOUSE", "SHIPMENT_STARTED",
    "IN_TRANSIT", "COMPLETED",       "REFUND_REQUESTED",  "REFUNDED",  "CANCELLED",    "EXPIRED",
};

// The allowed transitions. Anything not listed is forbidden.
constexpr std::pair<OrderStatus, OrderStatus> transitions[] = {
    {S::created, S::pending_payment},
    {S::pending_payment, S::payment_completed},
    {S::pending_payment, S::cancelled},  // by the user, or a failed payment
    {S::pending_payment, S::expired},    // by the expiry sweep
    {S::payment_completed, S::preparing},     // SHIPPING
    {S::payment_completed, S::in_warehouse},  // WAREHOUSE
    {S::preparing, S::shipment_started},
    {S::shipment_started, S::in_transit},
    {S::in_transit, S::completed},
    {S::in_warehouse, S::completed},
    {S::cancelled, S::refund_requested},  // a payment arrived after the cancellation
    {S::expired, S::refund_requested},    // a payment arrived after the expiry
    {S::refund_requested, S::refunded},
    // A refund of a paid order: by its user before it ships, by an admin at any point.
    {S::payment_completed, S::refund_requested},
    {S::preparing, S::refund_requested},
    {S::in_warehouse, S::refund_requested},
    {S::shipment_started, S::refund_requested},
    {S::in_transit, S::refund_requested},
    {S::completed, S::refund_requested},
};

// Per status, in the order of `statuses`. Progress is along the path the order is on:
// a refund in progress is nearly over, a cancelled order is over.
constexpr std::array<StatusInfo, status_count> infos{{
    {"The order is being placed", 0, false},
    {"Waiting for payment; the items are reserved until the order expires", 10, true},
    {"Payment received", 40, false, true},
    {"Paid; the shipment is being prepared", 50, false, true},
    {"Paid; ready at the warehouse", 80, false, true},
    {"Handed over to the carrier", 65, false},
    {"On its way", 80, false},
    {"Completed", 100, false},
    {"The payment is being refunded to the wallet", 90, false},
    {"The payment was refunded", 100, false},
    {"Cancelled; the items were released", 100, false},
    {"Expired unpaid; the items were released", 100, false},
}};

constexpr std::size_t index_of(OrderStatus status) { return static_cast<std::size_t>(status); }

}  // namespace

std::span<const OrderStatus> all_statuses() { return statuses; }

std::string_view to_string(OrderStatus status) { return names[index_of(status)]; }

std::optional<OrderStatus> parse_status(std::string_view text) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) return statuses[i];
  }
  return std::nullopt;
}

const StatusInfo& info(OrderStatus status) { return infos[index_of(status)]; }

bool can_transition(OrderStatus from, OrderStatus to) {
  return std::any_of(std::begin(transitions), std::end(transitions),
                     [&](const auto& t) { return t.first == from && t.second == to; });
}

std::vector<OrderStatus> next_statuses(OrderStatus from) {
  std::vector<OrderStatus> next;
  for (const auto& [a, b] : transitions) {
    if (a == from) next.push_back(b);
  }
  return next;
}

bool is_final(OrderStatus status) { return next_statuses(status).empty(); }

core::Result<OrderStatus> walk(OrderStatus from, std::span<const OrderStatus> path) {
  OrderStatus at = from;
  for (const auto to : path) {
    if (!can_transition(at, to)) {
      return core::make_error(
          core::ErrorCategory::conflict, "transition-not-allowed",
          "an order cannot go from " + std::string(to_string(at)) + " to " + std::string(to_string(to)));
    }
    at = to;
  }
  return at;
}

}  // namespace paypipe::order_processor
