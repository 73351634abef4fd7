#include "order_processor/order_state.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <utility>

using namespace paypipe::order_processor;

namespace {

// The expectation, written independently of the table in order_state.cpp: every
// allowed transition by name. Every pair of statuses not listed here must be refused.
const std::set<std::pair<std::string, std::string>> expected_allowed{
    {"CREATED", "PENDING_PAYMENT"},
    {"PENDING_PAYMENT", "PAYMENT_COMPLETED"},
    {"PENDING_PAYMENT", "CANCELLED"},
    {"PENDING_PAYMENT", "EXPIRED"},
    {"PAYMENT_COMPLETED", "PREPARING"},
    {"PAYMENT_COMPLETED", "IN_WAREHOUSE"},
    {"PREPARING", "SHIPMENT_STARTED"},
    {"SHIPMENT_STARTED", "IN_TRANSIT"},
    {"IN_TRANSIT", "COMPLETED"},
    {"IN_WAREHOUSE", "COMPLETED"},
    {"CANCELLED", "REFUND_REQUESTED"},
    {"EXPIRED", "REFUND_REQUESTED"},
    {"REFUND_REQUESTED", "REFUNDED"},
    // Refunds of paid orders (by the user before shipping, by an admin at any point).
    {"PAYMENT_COMPLETED", "REFUND_REQUESTED"},
    {"PREPARING", "REFUND_REQUESTED"},
    {"IN_WAREHOUSE", "REFUND_REQUESTED"},
    {"SHIPMENT_STARTED", "REFUND_REQUESTED"},
    {"IN_TRANSIT", "REFUND_REQUESTED"},
    {"COMPLETED", "REFUND_REQUESTED"},
};

const std::vector<std::string> expected_names{
    "CREATED",    "PENDING_PAYMENT", "PAYMENT_COMPLETED", "PREPARING", "IN_WAREHOUSE", "SHIPMENT_STARTED",
    "IN_TRANSIT", "COMPLETED",       "REFUND_REQUESTED",  "REFUNDED",  "CANCELLED",    "EXPIRED",
};

OrderStatus status(const std::string& name) {
  const auto s = parse_status(name);
  REQUIRE(s.has_value());
  return *s;
}

}  // namespace

TEST_CASE("the twelve statuses have their names and parse back") {
  REQUIRE(all_statuses().size() == expected_names.size());
  for (std::size_t i = 0; i < expected_names.size(); ++i) {
    CHECK(to_string(all_statuses()[i]) == expected_names[i]);
    CHECK(parse_status(expected_names[i]) == all_statuses()[i]);
  }
  CHECK_FALSE(parse_status("pending_payment").has_value());
  CHECK_FALSE(parse_status("").has_value());
  CHECK_FALSE(parse_status("SHIPPED").has_value());
}

TEST_CASE("every pair of statuses is allowed or forbidden exactly as expected") {
  int allowed = 0, forbidden = 0;
  for (const auto& from : expected_names) {
    for (const auto& to : expected_names) {
      const bool expected = expected_allowed.count({from, to}) == 1;
      INFO(from << " -> " << to);
      CHECK(can_transition(status(from), status(to)) == expected);
      expected ? ++allowed : ++forbidden;
    }
  }
  CHECK(allowed == 19);
  CHECK(forbidden == 12 * 12 - 19);
}

TEST_CASE("no status goes to itself, and nothing leads back to CREATED") {
  for (const auto s : all_statuses()) {
    CHECK_FALSE(can_transition(s, s));
    CHECK_FALSE(can_transition(s, OrderStatus::created));
  }
}

TEST_CASE("next_statuses and is_final agree with the table") {
  for (const auto from : all_statuses()) {
    std::set<std::string> next;
    for (const auto to : next_statuses(from)) next.insert(std::string(to_string(to)));
    std::set<std::string> expected;
    for (const auto& [a, b] : expected_allowed) {
      if (a == to_string(from)) expected.insert(b);
    }
    CHECK(next == expected);
    CHECK(is_final(from) == expected.empty());
  }
  CHECK_FALSE(is_final(OrderStatus::completed));  // an admin may still refund it
  CHECK(is_final(OrderStatus::refunded));
  CHECK_FALSE(is_final(OrderStatus::cancelled));  // a late payment still leads to a refund
}

TEST_CASE("walk applies a path step by step and names the first forbidden step") {
  const std::vector warehouse{OrderStatus::payment_completed, OrderStatus::in_warehouse, OrderStatus::completed};
  auto done = walk(OrderStatus::pending_payment, warehouse);
  REQUIRE(done.ok());
  CHECK(*done == OrderStatus::completed);

  const std::vector shortcut{OrderStatus::payment_completed, OrderStatus::completed};
  auto refused = walk(OrderStatus::pending_payment, shortcut);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().category == paypipe::core::ErrorCategory::conflict);
  CHECK(refused.error().message.find("PAYMENT_COMPLETED to COMPLETED") != std::string::npos);

  // Applying the same step twice is refused: a redelivered event cannot move an order twice.
  const std::vector cancel{OrderStatus::cancelled};
  REQUIRE(walk(OrderStatus::pending_payment, cancel).ok());
  CHECK_FALSE(walk(OrderStatus::cancelled, cancel).ok());
  CHECK(walk(OrderStatus::in_transit, std::vector<OrderStatus>{}).value() == OrderStatus::in_transit);
}

TEST_CASE("only an unpaid order can be cancelled, and the flag matches the transitions") {
  for (const auto s : all_statuses()) {
    INFO(to_string(s));
    CHECK(info(s).cancellable == (s == OrderStatus::pending_payment));
    if (s != OrderStatus::created) CHECK(info(s).cancellable == can_transition(s, OrderStatus::cancelled));
  }
}

TEST_CASE("a user may ask for a refund only of a paid order nothing of which was handed to a carrier") {
  for (const auto s : all_statuses()) {
    INFO(to_string(s));
    const bool expected = s == OrderStatus::payment_completed || s == OrderStatus::preparing ||
                          s == OrderStatus::in_warehouse;
    CHECK(info(s).refundable_by_user == expected);
    if (expected) CHECK(can_transition(s, OrderStatus::refund_requested));
  }
}

TEST_CASE("every status has a description and a progress that grows along each path") {
  for (const auto s : all_statuses()) {
    CHECK_FALSE(info(s).description.empty());
    CHECK(info(s).progress >= 0);
    CHECK(info(s).progress <= 100);
  }
  const std::vector<std::vector<OrderStatus>> paths{
      {OrderStatus::created, OrderStatus::pending_payment, OrderStatus::payment_completed, OrderStatus::preparing,
       OrderStatus::shipment_started, OrderStatus::in_transit, OrderStatus::completed},
      {OrderStatus::created, OrderStatus::pending_payment, OrderStatus::payment_completed, OrderStatus::in_warehouse,
       OrderStatus::completed},
      {OrderStatus::refund_requested, OrderStatus::refunded},
  };
  for (const auto& path : paths) {
    for (std::size_t i = 1; i < path.size(); ++i) {
      INFO(to_string(path[i - 1]) << " -> " << to_string(path[i]));
      CHECK(can_transition(path[i - 1], path[i]));
      CHECK(info(path[i]).progress > info(path[i - 1]).progress);
    }
  }
  for (const auto s : all_statuses()) {
    if (is_final(s)) CHECK(info(s).progress == 100);
  }
}
