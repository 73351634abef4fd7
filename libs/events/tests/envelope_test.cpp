#include "events/envelope.hpp"

#include <catch2/catch.hpp>

#include "core/trace.hpp"
#include "core/uuid.hpp"

using namespace paypipe;

TEST_CASE("an event round-trips through Kafka headers") {
  core::TraceScope scope(core::TraceContext::generate());
  auto event = events::make_event("payment.completed", "/paypipe/payment-api", "order-1", R"({"a":1})");
  CHECK(core::is_uuid(event.id));
  CHECK(event.type == "dev.paypipe.payment.completed.v1");
  CHECK(event.dataschema == "https://paypipe.dev/schemas/events/payment.completed.v1.json");
  CHECK(core::TraceContext::parse(event.traceparent)->trace_id == core::current_trace().trace_id);
  const auto headers = events::to_headers(event);
  auto decoded = events::from_record(std::string("order-1"), event.data, headers);
  REQUIRE(decoded.ok());
  CHECK(decoded->id == event.id);
  CHECK(decoded->type == event.type);
  CHECK(decoded->source == event.source);
  CHECK(decoded->time == event.time);
  CHECK(decoded->traceparent == event.traceparent);
  CHECK(decoded->key == "order-1");
  CHECK(decoded->data == event.data);
  CHECK(*events::find_header(headers, "ce_specversion") == "1.0");
  CHECK(*events::find_header(headers, "content-type") == "application/json");
}

TEST_CASE("records that are not CloudEvents are undecodable, with every reason") {
  auto missing = events::from_record(std::nullopt, "{}", {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "undecodable");
  CHECK(missing.error().message.find("missing header ce_id") != std::string::npos);
  CHECK(missing.error().message.find("missing header ce_type") != std::string::npos);

  events::KafkaHeaders headers{{"ce_id", "x"},           {"ce_type", "t"},          {"ce_source", "s"},
                               {"ce_time", "yesterday"}, {"ce_specversion", "0.3"}, {"content-type", "text/xml"}};
  auto bad = events::from_record(std::nullopt, "{}", headers);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("unsupported ce_specversion 0.3") != std::string::npos);
  CHECK(bad.error().message.find("ce_time is not RFC 3339") != std::string::npos);
  CHECK(bad.error().message.find("content-type") != std::string::npos);

  events::KafkaHeaders huge{{"ce_id", std::string(100000, 'x')}};
  CHECK_FALSE(events::from_record(std::nullopt, "{}", huge).ok());
}
