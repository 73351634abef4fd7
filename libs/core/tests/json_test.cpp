#include "core/json.hpp"

#include <catch2/catch.hpp>

using namespace paypipe::core;

TEST_CASE("json::parse rejects malformed and trailing input") {
  CHECK(json::parse(R"({"a":1})").ok());
  CHECK_FALSE(json::parse("{").ok());
  CHECK_FALSE(json::parse(R"({"a":1} {"b":2})").ok());
  CHECK_FALSE(json::parse("").ok());
  const auto bad = json::parse("{\"a\":}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == ErrorCategory::invalid_input);
  CHECK(bad.error().message.find("offset") != std::string::npos);
}

TEST_CASE("json::parse survives hostile nesting") {
  std::string deep(100000, '[');
  CHECK_FALSE(json::parse(deep).ok());
}

TEST_CASE("json::Reader reports every bad field at once") {
  auto doc = json::parse(R"({"userId":"u 1","amount":"x","kind":"NOPE","id":"not-a-uuid"})");
  REQUIRE(doc.ok());
  json::Reader in(*doc);
  in.text("userId", json::id_rule);
  in.integer("amount", 1, 100);
  in.one_of("kind", {"A", "B"});
  in.uuid("id");
  in.text("missing");
  const auto status = in.status();
  REQUIRE_FALSE(status.ok());
  const auto& message = status.error().message;
  CHECK(message.find("userId") != std::string::npos);
  CHECK(message.find("amount: must be an integer") != std::string::npos);
  CHECK(message.find("kind: must be one of A, B") != std::string::npos);
  CHECK(message.find("id: must be a UUID") != std::string::npos);
  CHECK(message.find("missing: is required") != std::string::npos);
}

TEST_CASE("json::Reader reads nested arrays of objects with paths in errors") {
  auto doc = json::parse(R"({"items":[{"q":1},{"q":0}]})");
  REQUIRE(doc.ok());
  json::Reader in(*doc);
  std::vector<std::int64_t> quantities;
  in.objects("items", 1, 10, [&](json::Reader& item) { quantities.push_back(item.integer("q", 1, 5)); });
  REQUIRE_FALSE(in.ok());
  CHECK(in.status().error().message.find("items[1].q: must be between 1 and 5") != std::string::npos);
  CHECK(quantities.size() == 2);
}

TEST_CASE("json::Reader rejects a non-object body") {
  auto doc = json::parse("[1,2]");
  REQUIRE(doc.ok());
  json::Reader in(*doc);
  in.text("a");
  CHECK_FALSE(in.ok());
}

TEST_CASE("json::Writer escapes and nests") {
  json::Writer w;
  w.begin_object().field("s", std::string("a\"b\n")).field("n", std::int64_t{-5}).field("b", true);
  w.begin_array("xs").value(1).value(2).end_array();
  w.raw_field("r", R"({"k":1})");
  w.field("o", std::optional<std::string>{});
  w.end_object();
  CHECK(w.take() == R"({"s":"a\"b\n","n":-5,"b":true,"xs":[1,2],"r":{"k":1},"o":null})");
  CHECK(json::quote("é\t") == "\"é\\t\"");
}
