#include "events/schemas.hpp"

#include <catch2/catch.hpp>

#include "events/admin.hpp"

#include <atomic>
#include <thread>
#include <vector>

using paypipe::events::SchemaRegistry;

TEST_CASE("every business topic has a schema") {
  const auto& registry = SchemaRegistry::builtin();
  for (const auto& topic : paypipe::events::business_topics()) {
    INFO(topic);
    CHECK(registry.knows(topic));
    CHECK(registry.latest_version(topic) == 1);
  }
}

TEST_CASE("valid payment.completed data passes") {
  CHECK(SchemaRegistry::builtin()
            .validate(
                "payment.completed",
                R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
                          "userId":"user-1","amount":15000,"currency":"KRW","completedAt":"2026-11-23T06:53:00.123Z"})")
            .ok());
}

TEST_CASE("schema violations name the keyword and the place") {
  const auto& registry = SchemaRegistry::builtin();
  auto missing = registry.validate("payment.completed", R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab"})");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "schema-invalid");
  CHECK(missing.error().message.find("required") != std::string::npos);

  auto wrong_type = registry.validate(
      "payment.completed",
      R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
          "userId":"user-1","amount":"lots","currency":"KRW","completedAt":"2026-11-23T06:53:00.123Z"})");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.error().message.find("/amount") != std::string::npos);

  CHECK(registry.validate("payment.completed", "not json").error().code == "schema-invalid");
  CHECK(registry.validate("no.such.type", "{}").error().code == "unknown-event-type");
  CHECK(registry.validate("payment.completed", "{}", 7).error().code == "unknown-schema-version");
}

TEST_CASE("dataschema values carry the version: the schema file's URL, or the URN of older records") {
  CHECK(SchemaRegistry::version_of("https://paypipe.dev/schemas/events/order.created.v2.json") == 2);
  CHECK(SchemaRegistry::version_of("urn:paypipe:schema:order.created:2") == 2);
  CHECK(SchemaRegistry::version_of("garbage") == 0);
  CHECK(SchemaRegistry::version_of("https://paypipe.dev/schemas/events/order.created.json") == 0);
}

TEST_CASE("a type of the CloudEvents form names its schema file and version") {
  const auto& registry = SchemaRegistry::builtin();
  CHECK(registry
            .validate(
                "dev.paypipe.payment.completed.v1",
                R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
                              "userId":"user-1","amount":15000,"currency":"KRW","completedAt":"2026-11-23T06:53:00.123Z"})")
            .ok());
  CHECK(registry.validate("dev.paypipe.payment.completed.v1", "{}").error().code == "schema-invalid");
  CHECK(registry.validate("dev.paypipe.payment.completed.v7", "{}").error().code == "unknown-schema-version");
  CHECK(registry.validate("dev.paypipe.no.such.v1", "{}").error().code == "unknown-event-type");
}

TEST_CASE("validation is safe from many threads at once") {
  // RapidJSON 1.1 keeps regex search state in the compiled schema; the registry gives
  // each thread its own copy. Without that this crashed under payment-api's load.
  const std::string data =
      R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
          "userId":"user-1","amount":15000,"currency":"KRW","completedAt":"2026-11-23T06:53:00.123Z"})";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!SchemaRegistry::builtin().validate("payment.completed", data).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
}

TEST_CASE("a thread's validator is reused: a failure leaves nothing behind, a large document validates too") {
  const auto& registry = SchemaRegistry::builtin();
  const std::string valid =
      R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
          "userId":"user-1","amount":15000,"currency":"KRW","completedAt":"2026-11-23T06:53:00.123Z")";
  const std::string wrong_type =
      R"({"paymentId":"0190a6b2-7c3e-7abc-8def-0123456789ab","orderId":"0190a6b2-7c3e-7abc-8def-0123456789ac",
          "userId":"user-1","amount":"lots","currency":"KRW","completedAt":"2026-11-23T06:53:00.123Z"})";
  for (int round = 0; round < 3; ++round) {
    CHECK(registry.validate("payment.completed", valid + "}").ok());
    auto failed = registry.validate("payment.completed", wrong_type);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message.find("/amount") != std::string::npos);
    CHECK_FALSE(registry.validate("payment.completed", R"({"paymentId":"x"})").ok());
  }
  // Beyond the parse's stack buffer (8 KiB): the rest of the document goes to the heap.
  std::string large = valid;
  for (int i = 0; i < 200; ++i) large += ",\"note" + std::to_string(i) + "\":\"" + std::string(100, 'x') + "\"";
  CHECK(registry.validate("payment.completed", large + "}").ok());
  CHECK_FALSE(registry.validate("payment.completed", large + R"(,"amount":"lots"})").ok());
}
