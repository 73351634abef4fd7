#include "notification_sender/recipients.hpp"

#include <catch2/catch.hpp>

#include "core/metrics.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;

TEST_CASE("a user without a chat in the mapping gets no chat: a user id is never a chat id") {
  Recipients r;  // the defaults: skip unmapped users
  r.chat_ids = {{"alice", "1001"}};
  CHECK(r.chat_for("alice") == "1001");
  // The door of issue 13: a stranger names user "123456789" and the bot wrote to that chat.
  CHECK_FALSE(r.chat_for("123456789").has_value());
  CHECK_FALSE(r.chat_for("bob").has_value());
  CHECK(r.unmapped == UnmappedUsers::skip);
}

TEST_CASE("default-chat sends unmapped users' messages to the operators' chat, never to the user id") {
  Recipients r;
  r.chat_ids = {{"alice", "1001"}};
  r.unmapped = UnmappedUsers::default_chat;
  r.default_chat_id = "-100200";
  CHECK(r.chat_for("42") == "-100200");
  CHECK(r.chat_for("alice") == "1001");
  r.default_chat_id.clear();  // no chat configured: nothing rather than the user id
  CHECK_FALSE(r.chat_for("42").has_value());
}

TEST_CASE("a skipped event is counted by reason in notifications_skipped_total") {
  count_skipped(skip_no_chat);
  count_skipped(skip_no_chat);
  const auto text = core::metrics::serialize();
  CHECK(text.find("notifications_skipped_total{reason=\"no-chat\"} 2") != std::string::npos);
}
