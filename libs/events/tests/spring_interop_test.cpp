// Records of Spring producers and for Spring consumers (events/spring_interop.hpp).
#include "events/spring_interop.hpp"

#include <catch2/catch.hpp>

#include "core/uuid.hpp"
#include "events/dead_letter.hpp"
#include "events/envelope.hpp"

using namespace paypipe;
using namespace paypipe::events;

namespace {

KafkaOptions spring_options() {
  KafkaOptions options;
  options.topic_prefix = "t1.";
  auto interop = make_spring_interop({{"order.completed", "dev.paypipe.order.completed.v1"}},
                                     {{"com.example.PaymentCompletedEvent", "payment.completed"}},
                                     {{"payment.completed", "com.example.PaymentCompleted"}, {"order.created", ""}});
  REQUIRE(interop.ok());
  options.interop = std::move(interop).value();
  return options;
}

ConsumedRecord plain_record(std::string topic) {
  ConsumedRecord r;
  r.topic = std::move(topic);
  r.partition = 1;
  r.offset = 42;
  r.timestamp_ms = 1795419806123;
  r.key = "order-1";
  r.value = R"({"orderId":"x"})";
  return r;
}

}  // namespace

TEST_CASE("the interop settings are checked and old type names made current") {
  auto ok = make_spring_interop({{"payment.completed", "payment.completed"}}, {}, {});
  REQUIRE(ok.ok());
  CHECK(ok->plain_json_topics.at("payment.completed") == "dev.paypipe.payment.completed.v1");

  auto bad = make_spring_interop({{"payment.completed", "dev.paypipe.nothing.v1"}}, {{"com..Bad", "payment.completed"}},
                                 {{"payment.completed", "1st.Class"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "invalid-spring-interop");
  CHECK(bad.error().message.find("PAYPIPE_PLAIN_JSON_TOPICS: unknown event type \"dev.paypipe.nothing.v1\"") !=
        std::string::npos);
  CHECK(bad.error().message.find("PAYPIPE_PLAIN_JSON_TYPE_IDS: \"com..Bad\" is not a Java class name") !=
        std::string::npos);
  CHECK(bad.error().message.find("PAYPIPE_SPRING_TYPE_IDS: \"1st.Class\"") != std::string::npos);
  CHECK(make_spring_interop({}, {{"com.example.Outer$Inner", "order.created"}}, {}).ok());
}

TEST_CASE("the id of a record without one comes from its coordinates: the same on every delivery") {
  const auto id = coordinates_event_id("t1.order.completed", 1, 42);
  CHECK(core::is_uuid(id));
  CHECK(id[14] == '8');  // version 8
  CHECK(id == coordinates_event_id("t1.order.completed", 1, 42));
  CHECK(id != coordinates_event_id("t1.order.completed", 1, 43));
  CHECK(id != coordinates_event_id("t1.order.completed", 2, 42));
  CHECK(id != coordinates_event_id("t1.payment.completed", 1, 42));
}

TEST_CASE("a plain JSON record on a configured topic becomes an event of the topic's type") {
  const auto options = spring_options();
  auto event = event_of(plain_record("t1.order.completed"), options);
  REQUIRE(event.ok());
  CHECK(event->type == "dev.paypipe.order.completed.v1");
  CHECK(event->id == coordinates_event_id("t1.order.completed", 1, 42));
  CHECK(event->source == "/spring/order.completed");
  CHECK(event->time == "2026-11-23T07:43:26.123Z");
  CHECK(event->dataschema == "https://paypipe.dev/schemas/events/order.completed.v1.json");
  CHECK(event->key == "order-1");
  CHECK(event->data == R"({"orderId":"x"})");

  // Spring's __TypeId__: a mapped class names the type, any other class is the topic's type.
  auto record = plain_record("t1.order.completed");
  record.headers = {{"__TypeId__", "com.example.PaymentCompletedEvent"}};
  CHECK(event_of(record, options)->type == "dev.paypipe.payment.completed.v1");
  record.headers = {{"__TypeId__", "com.example.SomethingElse"}};
  CHECK(event_of(record, options)->type == "dev.paypipe.order.completed.v1");

  record.headers = {{"content-type", "text/plain"}};
  auto wrong = event_of(record, options);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == "undecodable");
}

TEST_CASE("elsewhere, and with CloudEvents headers, records are read as CloudEvents") {
  const auto options = spring_options();
  auto unconfigured = event_of(plain_record("t1.payment.completed"), options);
  REQUIRE_FALSE(unconfigured.ok());
  CHECK(unconfigured.error().message.find("missing header ce_id") != std::string::npos);

  auto record = plain_record("t1.order.completed");
  const auto cloud = make_event("order.completed", "/paypipe/order-processor", "order-1", record.value);
  record.headers = to_headers(cloud);
  auto event = event_of(record, options);
  REQUIRE(event.ok());
  CHECK(event->id == cloud.id);
  CHECK(event->source == "/paypipe/order-processor");
}

TEST_CASE("a plain JSON record back from retry.<group> keeps its first delivery's id and topic") {
  const auto options = spring_options();
  const auto first = plain_record("t1.order.completed");
  const auto letter = dead_letter_record(first, Outcome::retry("A", "a"), "g", "t1.dlq.g", 1, core::from_unix_ms(1));
  ConsumedRecord dlq;
  dlq.headers = letter.headers;
  dlq.value = letter.value;
  dlq.key = letter.key;
  auto back = retry_record(dlq, "t1.retry.g", 2);
  ConsumedRecord retried = plain_record("t1.retry.g");
  retried.offset = 7;
  retried.headers = back.headers;
  auto event = event_of(retried, options);
  REQUIRE(event.ok());
  CHECK(event->type == "dev.paypipe.order.completed.v1");
  CHECK(event->id == coordinates_event_id("t1.order.completed", 1, 42));
}

TEST_CASE("records of a topic with a Spring class name carry __TypeId__; the CloudEvents headers stay") {
  const auto options = spring_options();
  const auto paid = make_event("payment.completed", "/paypipe/payment-api", "order-1", "{}");
  const auto headers = to_headers(paid, options.interop);
  REQUIRE(find_header(headers, "__TypeId__") != nullptr);
  CHECK(*find_header(headers, "__TypeId__") == "com.example.PaymentCompleted");
  CHECK(*find_header(headers, "content-type") == "application/json");
  CHECK(*find_header(headers, "ce_id") == paid.id);

  // An empty class name (a listener with a default type) and other topics: no header.
  const auto created = make_event("order.created", "/paypipe/order-processor", "order-1", "{}");
  CHECK(find_header(to_headers(created, options.interop), "__TypeId__") == nullptr);
  const auto failed = make_event("payment.failed", "/paypipe/payment-api", "order-1", "{}");
  CHECK(find_header(to_headers(failed, options.interop), "__TypeId__") == nullptr);
}
