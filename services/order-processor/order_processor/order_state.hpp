#pragma once
// The order state machine, as pure code. The allowed transitions and what each state
// means to a customer (description, progress, whether it can be cancelled) are DATA,
// in one table each in order_state.cpp; nothing else in the service decides whether a
// status may follow another. Unit-tested pair by pair (tests/unit/order_state_test.cpp).
//
//   CREATED -> PENDING_PAYMENT -> PAYMENT_COMPLETED -> PREPARING -> SHIPMENT_STARTED -> IN_TRANSIT -> COMPLETED
//                  |                               \-> IN_WAREHOUSE --------------------------------> COMPLETED
//                  +-> CANCELLED -> REFUND_REQUESTED -> REFUNDED
//                  +-> EXPIRED ---/        ^
//   every paid status (PAYMENT_COMPLETED .. COMPLETED) --/
//
// CREATED is the state of an order being placed: it is never stored, because the
// order, its holds and order.created are written in one transaction that leaves it
// PENDING_PAYMENT. CANCELLED and EXPIRED lead to REFUND_REQUESTED only when a payment
// arrives for an order that was given up; a paid order gets there when its user (before
// it ships, within the refund window) or an admin (any time) asks for a refund. Either
// way the refund saga ends in REFUNDED when payment-api has credited the wallet.

#include <array>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace paypipe::order_processor {

enum class OrderStatus {
  created,
  pending_payment,
  payment_completed,
  preparing,
  in_warehouse,
  shipment_started,
  in_transit,
  completed,
  refund_requested,
  refunded,
  cancelled,
  expired,
};

inline constexpr std::size_t status_count = 12;

// Every status, in declaration order.
std::span<const OrderStatus> all_statuses();

// "PENDING_PAYMENT" etc.: the stored and transmitted form.
std::string_view to_string(OrderStatus status);
std::optional<OrderStatus> parse_status(std::string_view text);

// What a customer sees for a status.
struct StatusInfo {
  std::string_view description;
  int progress = 0;  // percent
  bool cancellable = false;
  // The user may ask for a refund (within the window): paid, and nothing handed to a
  // carrier. A WAREHOUSE order's COMPLETED also qualifies (order_rules.cpp).
  bool refundable_by_user = false;
};
const StatusInfo& info(OrderStatus status);

bool can_transition(OrderStatus from, OrderStatus to);
// The statuses that may follow `from`; none for a final status.
std::vector<OrderStatus> next_statuses(OrderStatus from);
bool is_final(OrderStatus status);

// Walks `path` step by step from `from`: the final status, or a conflict error naming
// the first forbidden step (nothing is half-applied: the caller writes only on success).
core::Result<OrderStatus> walk(OrderStatus from, std::span<const OrderStatus> path);

}  // namespace paypipe::order_processor
