#include "http/request.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;

namespace {

http::Request with_param(const std::string& name, const std::string& value) {
  http::Request r;
  r.path_params[name] = value;
  return r;
}

bool mentions(const core::Status& status, const std::string& text) {
  return !status.ok() && status.error().message.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("uuid_param lower-cases a UUID and names the parameter when it is not one") {
  auto id = http::uuid_param(with_param("orderId", "0190A6B2-7C3E-7ABC-8DEF-00000000000A"), "orderId", "bad-order-id");
  REQUIRE(id.ok());
  CHECK(*id == "0190a6b2-7c3e-7abc-8def-00000000000a");
  auto bad = http::uuid_param(with_param("orderId", "42"), "orderId", "bad-order-id");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  CHECK(bad.error().code == "bad-order-id");
  CHECK(bad.error().message == "orderId must be a UUID");
}

TEST_CASE("plain ids are 1-64 characters of letters, digits and _ . : -") {
  CHECK(http::is_plain_id("concert:A-12_x.y"));
  CHECK_FALSE(http::is_plain_id(""));
  CHECK_FALSE(http::is_plain_id("al ice"));
  CHECK_FALSE(http::is_plain_id("a/b"));
  CHECK_FALSE(http::is_plain_id(std::string(65, 'p')));
  CHECK(http::plain_id_param(with_param("userId", "alice"), "userId", "bad-userId").ok());
  CHECK(http::plain_id_param(with_param("userId", "al ice"), "userId", "bad-userId").error().code == "bad-userId");
}

TEST_CASE("a page query reads limit and cursor, with defaults") {
  const std::map<std::string, std::string> none;
  http::QueryReader empty(none);
  const auto first = empty.page({20, 100});
  CHECK(first.limit == 20);
  CHECK_FALSE(first.cursor);
  CHECK(empty.status().ok());

  const std::map<std::string, std::string> query{{"limit", "7"}, {"cursor", "42"}};
  http::QueryReader reader(query);
  const auto page = reader.page();
  CHECK(page.limit == 7);
  CHECK(page.cursor == 42);
  CHECK(reader.status().ok());
}

TEST_CASE("after is still read as a deprecated alias of cursor; cursor wins when both are sent") {
  const std::map<std::string, std::string> old_dialect{{"after", "9"}};
  http::QueryReader old_reader(old_dialect);
  CHECK(old_reader.page().cursor == 9);
  const std::map<std::string, std::string> both{{"after", "9"}, {"cursor", "12"}};
  http::QueryReader both_reader(both);
  CHECK(both_reader.page().cursor == 12);
  both_reader.refuse_unread();
  CHECK(both_reader.status().ok());
}

TEST_CASE("every problem of a query is named in one bad-query error") {
  const std::map<std::string, std::string> query{{"limit", "501"},
                                                 {"cursor", "x"},
                                                 {"userId", "a b"},
                                                 {"colour", "red"},
                                                 {"name", std::string(300, 'n')}};
  http::QueryReader reader(query);
  reader.page();
  CHECK_FALSE(reader.plain_id("userId"));
  CHECK_FALSE(reader.text("name"));
  reader.refuse_unread();
  const auto status = reader.status();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == "bad-query");
  for (const auto* name : {"limit", "cursor", "userId", "colour", "name"}) CHECK(mentions(status, name));
}

TEST_CASE("limits outside the range, negative cursors and junk are refused") {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{{"limit", "0"},
                                                                                    {"limit", "1x"},
                                                                                    {"limit", "-1"},
                                                                                    {"limit", ""},
                                                                                    {"cursor", "-3"},
                                                                                    {"cursor", ""},
                                                                                    {"after", "1.5"}}) {
    const std::map<std::string, std::string> query{{name, value}};
    http::QueryReader reader(query);
    reader.page();
    CHECK_FALSE(reader.status().ok());
  }
}

TEST_CASE("nextCursor is a string or null, and the deprecated next mirrors it on request") {
  core::json::Writer w;
  w.begin_object();
  http::write_next_cursor(w, 42, true);
  w.end_object();
  CHECK(w.take() == R"({"nextCursor":"42","next":"42"})");
  core::json::Writer last;
  last.begin_object();
  http::write_next_cursor(last, std::nullopt);
  last.end_object();
  CHECK(last.take() == R"({"nextCursor":null})");
}

TEST_CASE("admin_only runs the handler only with the admin token") {
  auto handler = http::admin_only("s3cret", [](const http::Request&) { return http::Response::json(200, "{}"); });
  http::Request request;
  CHECK(handler(request).status == 401);
  request.headers.push_back({"authorization", "Bearer nope"});
  CHECK(handler(request).status == 403);
  request.headers.back().value = "Bearer s3cret";
  CHECK(handler(request).status == 200);
}
