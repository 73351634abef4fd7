// events::decode_then_apply, the pure part of the decoded-batch handler shared by
// coupon-issuer and ranking-updater: what does not decode gets its own dead-letter
// outcome, the rest is applied in order as one batch, and every outcome lands at its
// event's position.
#include "events/decoded_batch.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;

namespace {

events::ConsumedEvent consumed(std::string data) {
  events::ConsumedEvent c;
  c.event.id = "id-" + data;
  c.event.type = "test.number";
  c.event.data = std::move(data);
  return c;
}

// Numbers decode; anything else does not.
core::Result<int> decode_number(const events::ConsumedEvent& c) {
  if (c.event.data.empty() || c.event.data.find_first_not_of("0123456789") != std::string::npos) {
    return core::make_error(core::ErrorCategory::invalid_input, "not-a-number", c.event.data + " is not a number");
  }
  return std::stoi(c.event.data);
}

}  // namespace

TEST_CASE("undecodable events are dead letters in place; the others are applied in order, outcomes scattered back") {
  const std::vector<events::ConsumedEvent> batch{consumed("1"), consumed("x"), consumed("2"), consumed("3"),
                                                 consumed("y")};
  std::vector<int> applied;
  const auto outcomes = events::decode_then_apply<int>(
      batch, decode_number, "ranking-updater", [&](std::span<const int> items) {
        applied.assign(items.begin(), items.end());
        // The second decoded item fails on its own; the others succeed.
        return std::vector<events::Outcome>{events::Outcome::ok(), events::Outcome::fail("paypipe.t.Bad", "2 is bad"),
                                            events::Outcome::ok()};
      });
  CHECK(applied == std::vector<int>{1, 2, 3});
  REQUIRE(outcomes.size() == 5);
  CHECK(outcomes[0].succeeded());
  CHECK(outcomes[1].kind == events::Outcome::Kind::fatal);
  CHECK(outcomes[1].error_class == "paypipe.ranking-updater.NotANumber");
  CHECK(outcomes[1].message == "x is not a number");
  CHECK(outcomes[2].error_class == "paypipe.t.Bad");
  CHECK(outcomes[3].succeeded());
  CHECK(outcomes[4].error_class == "paypipe.ranking-updater.NotANumber");
}

TEST_CASE("a batch where nothing decodes applies nothing") {
  const std::vector<events::ConsumedEvent> batch{consumed("x"), consumed("")};
  bool called = false;
  const auto outcomes = events::decode_then_apply<int>(batch, decode_number, "coupon-issuer",
                                                       [&](std::span<const int>) {
                                                         called = true;
                                                         return std::vector<events::Outcome>{};
                                                       });
  CHECK_FALSE(called);
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0].kind == events::Outcome::Kind::fatal);
  CHECK(outcomes[1].kind == events::Outcome::Kind::fatal);
}

TEST_CASE("an infrastructure failure of the applied batch is every decoded event's outcome") {
  const std::vector<events::ConsumedEvent> batch{consumed("1"), consumed("2")};
  const auto down = events::Outcome::infrastructure_failure("paypipe.pg.Unavailable", "down");
  const auto outcomes = events::decode_then_apply<int>(
      batch, decode_number, "coupon-issuer",
      [&](std::span<const int> items) { return std::vector<events::Outcome>(items.size(), down); });
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes[0].kind == events::Outcome::Kind::infrastructure);
  CHECK(outcomes[1].kind == events::Outcome::Kind::infrastructure);
}

TEST_CASE("an empty batch has no outcomes") {
  CHECK(events::decode_then_apply<int>({}, decode_number, "c", [](std::span<const int>) {
          return std::vector<events::Outcome>{};
        }).empty());
}
