// Producer slots on the real PostgreSQL: claims take different slots, a released one
// (its connection closed, as when a process is killed) is taken by the next claim.
#include "dlq_retrier/producer_slot.hpp"

#include <catch2/catch.hpp>

#include "support/stack.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;

namespace {
pg::ConnectOptions options() { return testing::pg_options("public"); }
}  // namespace

TEST_CASE("producer slots: the lowest free one; two claims differ; a released slot is taken next") {
  const auto scope = testing::unique_name("slots") + ".dlq-retrier-";
  auto a = ProducerSlot::claim(options(), scope);
  REQUIRE(a.ok());
  auto b = ProducerSlot::claim(options(), scope);
  REQUIRE(b.ok());
  CHECK(a->number() == 0);
  CHECK(b->number() == 1);
  CHECK(a->transactional_id() == scope + "0");
  CHECK(b->transactional_id() == scope + "1");

  a->release();  // the connection closes without unlocking: as when the process is killed
  auto c = ProducerSlot::claim(options(), scope);
  REQUIRE(c.ok());
  CHECK(c->number() == 0);  // the replacement inherits the freed slot, and its id
  auto d = ProducerSlot::claim(options(), scope);
  REQUIRE(d.ok());
  CHECK(d->number() == 2);
}

TEST_CASE("producer slots: none left is an error; another scope has slots of its own") {
  const auto scope = testing::unique_name("slots") + ".dlq-retrier-";
  auto a = ProducerSlot::claim(options(), scope, 2);
  auto b = ProducerSlot::claim(options(), scope, 2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto none = ProducerSlot::claim(options(), scope, 2);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == "dlq-retrier-no-slot");
  CHECK(none.error().category == core::ErrorCategory::unavailable);

  auto other = ProducerSlot::claim(options(), testing::unique_name("slots") + ".dlq-retrier-", 2);
  REQUIRE(other.ok());
  CHECK(other->number() == 0);
}
