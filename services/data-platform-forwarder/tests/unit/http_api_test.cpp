#include "data_platform_forwarder/http_api.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "support/daemon.hpp"
#include "support/openapi.hpp"

using namespace paypipe;
using namespace paypipe::data_platform_forwarder;

namespace {

http::Request get(std::map<std::string, std::string> query) {
  http::Request r;
  r.method = "GET";
  r.path = "/v1/deliveries";
  r.query = std::move(query);
  return r;
}

}  // namespace

TEST_CASE("the deliveries query takes a status, a limit and a cursor") {
  auto defaults = parse_list_query(get({}));
  REQUIRE(defaults.ok());
  CHECK_FALSE(defaults->status);
  CHECK(defaults->limit == 50);
  auto given = parse_list_query(get({{"status", "DEAD_LETTER"}, {"limit", "7"}, {"after", "9"}}));
  REQUIRE(given.ok());
  CHECK(given->status == DeliveryStatus::dead_letter);
  CHECK(given->limit == 7);
  CHECK(given->after == 9);
  auto bad = parse_list_query(get({{"status", "DONE"}, {"limit", "0"}, {"after", "x"}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("status") != std::string::npos);
  CHECK(bad.error().message.find("limit") != std::string::npos);
  CHECK(bad.error().message.find("after") != std::string::npos);
  auto current = parse_list_query(get({{"cursor", "11"}}));  // the one dialect; `after` is its deprecated alias
  REQUIRE(current.ok());
  CHECK(current->after == 11);
}

TEST_CASE("a delivery shows its state, attempts and last error") {
  Delivery d;
  d.seq = 3;
  d.event_id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  d.event_type = "order.completed";
  d.event_key = "k";
  d.status = "DEAD_LETTER";
  d.attempts = 5;
  d.last_http_status = 503;
  d.last_error = "paypipe.data-platform-forwarder.WebhookUnavailable: webhook answered 503";
  d.created_at = d.updated_at = "2027-01-15T08:00:00.000Z";
  auto doc = core::json::parse(page_json(DeliveryPage{{d}, std::nullopt}));
  REQUIRE(doc.ok());
  const auto& item = (*doc)["items"][0];
  CHECK(std::string(item["status"].GetString()) == "DEAD_LETTER");
  CHECK(item["attempts"].GetInt() == 5);
  CHECK(item["lastHttpStatus"].GetInt() == 503);
  CHECK(item["completedAt"].IsNull());
  CHECK((*doc)["next"].IsNull());
  CHECK((*doc)["nextCursor"].IsNull());
}

TEST_CASE("the OpenAPI document lists exactly the routes the forwarder serves") {
  pg::Pool pool(pg::PoolOptions{});  // never connects here
  DeliveryApi api(pool);
  http::Router router;
  api.add_routes(router);
  CHECK(testing::openapi_routes(testing::source_dir() + "/proto/http/data-platform-forwarder.yaml") ==
        testing::router_routes(router));
}
