#include "dlq_retrier/parked_codec.hpp"

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "dlq_retrier/cli.hpp"
#include "dlq_retrier/parked_store.hpp"
#include "events/dead_letter.hpp"

using namespace paypipe;
using namespace paypipe::dlq_retrier;

namespace {

ParkedRecord sample() {
  ParkedRecord r;
  r.id = 42;
  r.group = "notification-sender";
  r.reason = reason::exhausted;
  r.reason_detail = "attempt 3 of 3 failed: paypipe.notification.TelegramUnavailable";
  r.original_topic = "payment.completed";
  r.original_partition = 1;
  r.original_offset = 17;
  r.original_timestamp_ms = 1'700'000'000'000;
  r.dlq_topic = "dlq.notification-sender";
  r.dlq_partition = 2;
  r.dlq_offset = 9;
  r.key = "order-1";
  r.value = std::string("\x00\xff raw", 6);
  r.headers = {{"ce_id", "e-1"}, {events::dlt::original_offset, events::encode_int64(17)}, {"bin", "\xc3\x28"}};
  r.error_class = "paypipe.notification.TelegramUnavailable";
  r.message = "503 Service Unavailable";
  r.attempt = 3;
  r.failed_at = "2026-11-23T10:00:00.000Z";
  r.first_failed_at = "2026-11-23T09:50:00.000Z";
  r.parked_at = "2026-11-23T10:00:01.000Z";
  return r;
}

}  // namespace

TEST_CASE("base64 round-trips any bytes and refuses malformed text") {
  for (const std::string& bytes : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                                   std::string("foob"), std::string("\x00\xff\x10", 3)}) {
    const auto text = base64_encode(bytes);
    CHECK(text.size() % 4 == 0);
    CHECK(base64_decode(text) == bytes);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("Zm9").has_value());
  CHECK_FALSE(base64_decode("Zm$=").has_value());
  CHECK_FALSE(base64_decode("Z=9v").has_value());
}

TEST_CASE("UTF-8 is recognised, and sanitising keeps text and replaces the rest") {
  CHECK(is_utf8("plain"));
  CHECK(is_utf8("\xea\xb2\xb0\xec\xa0\x9c"));  // 결제
  CHECK_FALSE(is_utf8("\xc3\x28"));
  CHECK_FALSE(is_utf8("\xed\xa0\x80"));  // a surrogate
  CHECK_FALSE(is_utf8("\xe0\x80\xaf"));  // overlong
  CHECK(sanitize_utf8("ok\xc3(") == "ok\xef\xbf\xbd(");
  CHECK(sanitize_utf8(std::string("a\0b", 3)) ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(sanitize_utf8("\xea\xb2\xb0") == "\xea\xb2\xb0");
}

TEST_CASE("the list query takes every filter, checks limits and names each bad parameter") {
  auto q = parse_parked_query({{"group", "notification-sender"},
                               {"topic", "payment.completed"},
                               {"errorClass", "x.Y"},
                               {"limit", "10"},
                               {"cursor", "42"}});
  REQUIRE(q.ok());
  CHECK(q->group == "notification-sender");
  CHECK(q->topic == "payment.completed");
  CHECK(q->error_class == "x.Y");
  CHECK(q->status == "PARKED");
  CHECK(q->limit == 10);
  CHECK(q->after_id == 42);
  auto all = parse_parked_query({{"status", "ALL"}});
  REQUIRE(all.ok());
  CHECK_FALSE(all->status.has_value());
  CHECK(parse_parked_query({})->limit == 50);

  auto bad = parse_parked_query({{"limit", "501"}, {"cursor", "x"}, {"status", "GONE"}, {"colour", "red"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
  for (const auto* name : {"limit", "cursor", "status", "colour"}) {
    CHECK(bad.error().message.find(name) != std::string::npos);
  }
  CHECK(parse_parked_id("7").value() == 7);
  CHECK_FALSE(parse_parked_id("0").ok());
  CHECK_FALSE(parse_parked_id("7x").ok());
  CHECK_FALSE(parse_parked_id("").ok());
}

TEST_CASE("a record's JSON carries text where it is text and exact base64 everywhere") {
  const auto doc = core::json::parse(detail_json(sample()));
  REQUIRE(doc.ok());
  const auto& d = *doc;
  CHECK(d["id"].GetInt64() == 42);
  CHECK(std::string(d["status"].GetString()) == "PARKED");
  CHECK(std::string(d["reason"].GetString()) == "EXHAUSTED");
  CHECK(d["originalOffset"].GetInt64() == 17);
  CHECK(std::string(d["originalTimestamp"].GetString()) == "2023-11-14T22:13:20.000Z");
  CHECK(std::string(d["key"].GetString()) == "order-1");
  CHECK(d["value"].IsNull());  // not UTF-8
  CHECK(base64_decode(d["valueBase64"].GetString()) == sample().value);
  CHECK(d["replayedAt"].IsNull());
  const auto& headers = d["headers"];
  REQUIRE(headers.Size() == 3);
  CHECK(std::string(headers[0]["value"].GetString()) == "e-1");
  CHECK(std::string(headers[1]["value"].GetString()) == "17");  // Spring's binary long, shown as a number
  CHECK(base64_decode(headers[1]["valueBase64"].GetString()) == events::encode_int64(17));
  CHECK(headers[2]["value"].IsNull());

  const auto page = core::json::parse(page_json(ParkedPage{{sample()}, 42}));
  REQUIRE(page.ok());
  CHECK((*page)["items"].Size() == 1);
  CHECK_FALSE((*page)["items"][0].HasMember("valueBase64"));  // summaries stay small
  CHECK(std::string((*page)["nextCursor"].GetString()) == "42");
  CHECK((*core::json::parse(page_json(ParkedPage{{}, std::nullopt})))["nextCursor"].IsNull());
}

TEST_CASE("stored headers keep every byte, names included") {
  events::KafkaHeaders headers{{"a", std::string("\x00\x01", 2)}, {"\xc3(", "v"}, {"a", ""}};
  const auto json = headers_to_json(headers);
  const auto back = headers_from_json(json);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 3);
  for (std::size_t i = 0; i < headers.size(); ++i) {
    CHECK((*back)[i].name == headers[i].name);
    CHECK((*back)[i].value == headers[i].value);
  }
  CHECK_FALSE(headers_from_json(R"([{"name":"a"}])").ok());
  CHECK_FALSE(headers_from_json(R"([{"name":"a","value":"%%%%"}])").ok());
}

TEST_CASE("the CLI parses its arguments and prints tables an operator can read") {
  auto args = parse_cli({"list", "--group", "notification-sender", "--json"});
  REQUIRE(args.ok());
  CHECK(args->command == "list");
  CHECK(args->flags.at("--group") == "notification-sender");
  CHECK(args->flags.count("--json") == 1);
  auto replay = parse_cli({"replay", "42"});
  REQUIRE(replay.ok());
  CHECK(replay->positional == std::vector<std::string>{"42"});
  CHECK_FALSE(parse_cli({"list", "--group"}).ok());
  CHECK_FALSE(parse_cli({"list", "--colour", "red"}).ok());
  CHECK_FALSE(parse_cli({}).ok());
  // Bad command lines are usage errors (exit 2), never a default.
  for (const auto& bad : std::vector<std::vector<std::string>>{{"lsit"},
                                                               {"show", "--jsn"},
                                                               {"replay", "--group"},
                                                               {"list", "extra"},
                                                               {"list", "--limit"}}) {
    const auto refused = parse_cli(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "usage");
  }
  auto purge = parse_cli({"delete", "7", "--json"});  // the older name of purge
  REQUIRE(purge.ok());
  CHECK(purge->command == "purge");
  CHECK(purge->positional == std::vector<std::string>{"7"});
  CHECK(parse_cli({"list", "--help"}).error().code == "help");

  const auto table = format_table(ParkedPage{{sample()}, 42});
  CHECK(table.find("ID") == 0);
  CHECK(table.find("notification-sender") != std::string::npos);
  CHECK(table.find("payment.completed[1]@17") != std::string::npos);
  CHECK(table.find("--cursor 42") != std::string::npos);
  auto long_class = sample();
  long_class.error_class = "paypipe.data-platform-forwarder.WebhookUnavailable";
  CHECK(format_table(ParkedPage{{long_class}, std::nullopt}).find("...-platform-forwarder.WebhookUnavailable") !=
        std::string::npos);  // cut on the left: the code stays readable
  const auto shown = format_record(sample());
  CHECK(shown.find("kafka_dlt-original-offset: 17") != std::string::npos);
  CHECK(shown.find("base64:AP8gcmF3") != std::string::npos);  // the binary value, exactly
}
