// Event types named the CloudEvents way, and the alias table that lets consumers accept
// the old names during a rolling upgrade.
#include "events/event_types.hpp"

#include <catch2/catch.hpp>

#include "contracts/order_completed.hpp"
#include "contracts/payment_completed.hpp"
#include "events/admin.hpp"
#include "events/dispatch.hpp"
#include "events/envelope.hpp"
#include "events/schemas.hpp"

using namespace paypipe;

TEST_CASE("a type is reverse DNS, the event's name and its version; the topic is the name") {
  const auto parsed = events::parse_type("dev.paypipe.payment.completed.v1");
  REQUIRE(parsed);
  CHECK(parsed->name == "payment.completed");
  CHECK(parsed->version == 1);
  CHECK(events::topic_of("dev.paypipe.payment.refund-requested.v2") == "payment.refund-requested");
  CHECK_FALSE(events::parse_type("payment.completed"));
  CHECK_FALSE(events::parse_type("dev.paypipe.payment.completed"));
  CHECK_FALSE(events::parse_type("dev.paypipe.payment.completed.v0"));
  CHECK_FALSE(events::parse_type("dev.paypipe.payment.completed.vx"));
  CHECK_FALSE(events::parse_type("com.example.payment.completed.v1"));
  CHECK(events::topic_of("com.example.thing") == "com.example.thing");
}

TEST_CASE("ce_dataschema names the schema file, so a foreign consumer finds it from the headers alone") {
  CHECK(events::dataschema_of("dev.paypipe.payment.completed.v1") ==
        "https://paypipe.dev/schemas/events/payment.completed.v1.json");
  CHECK(events::dataschema_of("payment.completed").empty());
  // The file is proto/events/<its last path segment>, compiled into the registry.
  CHECK(events::SchemaRegistry::builtin().knows("dev.paypipe.payment.completed.v1"));
  CHECK_FALSE(events::SchemaRegistry::builtin().knows("dev.paypipe.payment.completed.v9"));
  CHECK(events::SchemaRegistry::version_of("https://paypipe.dev/schemas/events/order.created.v2.json") == 2);
  CHECK(events::SchemaRegistry::version_of("urn:paypipe:schema:order.created:2") == 2);
}

TEST_CASE("every business topic has a contract type of the new form whose topic it is") {
  for (const auto& topic : events::business_topics()) {
    INFO(topic);
    const auto type = events::current_type(topic);
    CHECK(type == "dev.paypipe." + topic + ".v1");
    CHECK(events::topic_of(type) == topic);
    CHECK(events::SchemaRegistry::builtin().knows(type));
  }
  CHECK(contracts::PaymentCompleted::type == "dev.paypipe.payment.completed.v1");
}

TEST_CASE("the alias table maps each old name to its current one and leaves the rest alone") {
  CHECK(events::current_type("payment.completed") == "dev.paypipe.payment.completed.v1");
  CHECK(events::current_type("product.sold-out") == "dev.paypipe.product.sold-out.v1");
  CHECK(events::current_type("dev.paypipe.order.created.v1") == "dev.paypipe.order.created.v1");
  CHECK(events::current_type("order.exploded") == "order.exploded");
}

TEST_CASE("an old-named record is handled like the new one") {
  const contracts::OrderCompleted order{"0190a6b2-7c3e-7abc-8def-0123456789ac",
                                        "user-1",
                                        {{"seat-A1", 2, 50000}},
                                        100000,
                                        "KRW",
                                        "WAREHOUSE",
                                        "0190a6b2-7c3e-7abc-8def-0123456789ab",
                                        "2026-11-23T06:53:00.123Z"};
  auto handle = [](const events::Event& e) {
    return events::dispatch<contracts::OrderCompleted>(
        e, "ranking-updater",
        [](const contracts::OrderCompleted& o) -> core::Result<std::string> { return o.order_id; });
  };
  // A record as an old producer wrote it: old ce_type and the URN ce_dataschema.
  auto modern = events::make_event("/paypipe/order-processor", order.order_id, order);
  auto headers = events::to_headers(modern);
  for (auto& h : headers) {
    if (h.name == events::header::type) h.value = "order.completed";
    if (h.name == events::header::dataschema) h.value = "urn:paypipe:schema:order.completed:1";
  }
  auto old = events::from_record(order.order_id, modern.data, headers);
  REQUIRE(old.ok());
  CHECK(old->type == "dev.paypipe.order.completed.v1");
  CHECK(events::SchemaRegistry::builtin()
            .validate(old->type, old->data, events::SchemaRegistry::version_of(old->dataschema))
            .ok());
  auto handled = handle(*old);
  REQUIRE(handled.ok());
  CHECK(*handled == order.order_id);

  auto decoded = events::from_record(order.order_id, modern.data, events::to_headers(modern));
  REQUIRE(decoded.ok());
  CHECK(decoded->type == old->type);
  CHECK(decoded->dataschema == "https://paypipe.dev/schemas/events/order.completed.v1.json");
  CHECK(*handle(*decoded) == *handled);
}

TEST_CASE("make_event writes an old name in its current form") {
  const auto e = events::make_event("order.completed", "/test", "k", "{}");
  CHECK(e.type == "dev.paypipe.order.completed.v1");
  CHECK(e.dataschema == "https://paypipe.dev/schemas/events/order.completed.v1.json");
}
