#include "notification_sender/http_api.hpp"
#include "notification_sender/link_api.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "support/daemon.hpp"
#include "support/openapi.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;

namespace {

http::Request get(std::map<std::string, std::string> query) {
  http::Request r;
  r.method = "GET";
  r.path = "/v1/notifications";
  r.query = std::move(query);
  return r;
}

}  // namespace

TEST_CASE("the list query takes a user, a limit of 1 to 500 and a cursor") {
  auto defaults = parse_list_query(get({}));
  REQUIRE(defaults.ok());
  CHECK_FALSE(defaults->user_id);
  CHECK(defaults->limit == 50);
  CHECK(defaults->after == 0);
  auto given = parse_list_query(get({{"userId", "alice"}, {"limit", "500"}, {"after", "42"}}));
  REQUIRE(given.ok());
  CHECK(given->user_id == "alice");
  CHECK(given->limit == 500);
  CHECK(given->after == 42);
  auto bad = parse_list_query(get({{"userId", "a b"}, {"limit", "501"}, {"after", "-1"}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  CHECK(bad.error().message.find("userId") != std::string::npos);
  CHECK(bad.error().message.find("limit") != std::string::npos);
  CHECK(bad.error().message.find("after") != std::string::npos);
  CHECK_FALSE(parse_list_query(get({{"limit", "ten"}})).ok());
  auto current = parse_list_query(get({{"cursor", "43"}}));  // the one dialect; `after` is its deprecated alias
  REQUIRE(current.ok());
  CHECK(current->after == 43);
}

TEST_CASE("a page lists its entries and the cursor of the next page") {
  LogEntry e;
  e.event_id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  e.event_type = "payment.completed";
  e.user_id = "alice";
  e.status = "SENT";
  e.chat_id = "1001";
  e.locale = "ko";
  e.text = "결제 \"완료\"";
  e.payment_id = "0190a6b2-7c3e-7abc-8def-00000000000b";
  e.telegram_message_id = 5;
  e.sent_at = "2027-01-15T08:00:00.000Z";
  e.seq = 17;
  auto doc = core::json::parse(page_json(LogPage{{e}, 17}));
  REQUIRE(doc.ok());
  const auto& item = (*doc)["items"][0];
  CHECK(std::string(item["text"].GetString()) == "결제 \"완료\"");
  CHECK(std::string(item["paymentId"].GetString()) == e.payment_id);
  CHECK_FALSE(item.HasMember("orderId"));
  CHECK(item["telegramMessageId"].GetInt64() == 5);
  CHECK(std::string((*doc)["nextCursor"].GetString()) == "17");
  CHECK(std::string((*doc)["next"].GetString()) == "17");  // deprecated
  auto last = core::json::parse(page_json(LogPage{{}, std::nullopt}));
  REQUIRE(last.ok());
  CHECK((*last)["nextCursor"].IsNull());
  CHECK((*last)["next"].IsNull());
}

TEST_CASE("the OpenAPI document lists exactly the routes the service serves") {
  pg::Pool pool(pg::PoolOptions{});  // never connects here
  NotificationApi api(pool);
  http::Router router;
  api.add_routes(router);
  Config config;
  http::Client telegram(http::ClientOptions{});
  TelegramLinkApi links(config, pool, *auth::Authenticator::create(auth::Settings{}), telegram);
  links.add_routes(router);
  CHECK(testing::openapi_routes(testing::source_dir() + "/proto/http/notification-sender.yaml") ==
        testing::router_routes(router));
}
