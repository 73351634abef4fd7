#include "notification_sender/webhook.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::notification_sender;
using Kind = BotCommand::Kind;

namespace {

std::string update(const std::string& text, const std::string& language = "en") {
  return R"({"update_id":10001,"message":{"message_id":7,"date":1700000000,)"
         R"("from":{"id":123456789,"is_bot":false,"first_name":"A","language_code":")" +
         language + R"("},"chat":{"id":123456789,"type":"private"},"text":")" + text + R"("}})";
}

}  // namespace

TEST_CASE("the bot reads /start with its link token, /stop, and other commands") {
  auto start = parse_update(update("/start AbC-_123"));
  REQUIRE(start.ok());
  CHECK(start->kind == Kind::start);
  CHECK(start->argument == "AbC-_123");
  CHECK(start->chat_id == "123456789");
  CHECK(start->locale == Locale::en);

  auto addressed = parse_update(update("/start@paypipe_bot  tok  ", "ko"));
  REQUIRE(addressed.ok());
  CHECK(addressed->kind == Kind::start);
  CHECK(addressed->argument == "tok");
  CHECK(addressed->locale == Locale::ko);

  auto bare = parse_update(update("/start", "de"));
  REQUIRE(bare.ok());
  CHECK(bare->kind == Kind::start);
  CHECK(bare->argument.empty());
  CHECK_FALSE(bare->locale.has_value());

  CHECK(parse_update(update("/stop"))->kind == Kind::stop);
  CHECK(parse_update(update("/stop@paypipe_bot"))->kind == Kind::stop);
  CHECK(parse_update(update("/help"))->kind == Kind::other);
  CHECK(parse_update(update("hello"))->kind == Kind::none);

  // Large (supergroup) chat ids.
  auto group = parse_update(
      R"({"update_id":1,"message":{"message_id":1,"chat":{"id":-1001234567890,"type":"supergroup"},"text":"/stop"}})");
  REQUIRE(group.ok());
  CHECK(group->chat_id == "-1001234567890");
}

TEST_CASE("updates that are not messages are ignored; bodies that are no update are refused") {
  CHECK(parse_update(R"({"update_id":5,"edited_message":{"chat":{"id":1},"text":"/stop"}})")->kind == Kind::none);
  CHECK(parse_update(R"({"update_id":5,"message":{"chat":{"id":1},"photo":[]}})")->kind == Kind::none);
  CHECK(parse_update(R"({"update_id":5,"message":{"chat":{"id":"1"},"text":"/stop"}})")->kind == Kind::none);
  for (const char* body : {"", "{", "[]", "{}", R"({"update_id":"5"})", R"({"message":{}})"}) {
    INFO(body);
    auto refused = parse_update(body);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().category == core::ErrorCategory::invalid_input);
  }
}
