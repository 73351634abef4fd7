#include "events/dead_letter.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::events;

namespace {

ConsumedRecord failed_record() {
  ConsumedRecord r;
  r.topic = "payment.completed";
  r.partition = 2;
  r.offset = 0x0102030405LL;
  r.timestamp_ms = 1795419806123;
  r.key = "order-1";
  r.value = R"({"x":1})";
  r.headers = {{"ce_id", "id-1"}, {"traceparent", "tp"}};
  return r;
}

}  // namespace

TEST_CASE("big-endian encodings match Java's ByteBuffer") {
  CHECK(encode_int32(2) == std::string("\0\0\0\x02", 4));
  CHECK(encode_int32(-1) == std::string("\xff\xff\xff\xff", 4));
  CHECK(encode_int64(0x0102030405LL) == std::string("\0\0\0\x01\x02\x03\x04\x05", 8));
  CHECK(decode_int32(encode_int32(-123456)) == -123456);
  CHECK(decode_int64(encode_int64(1795419806123)) == 1795419806123);
  CHECK_FALSE(decode_int32("abc"));
}

TEST_CASE("a first failure carries Spring's headers and ours") {
  const auto now = core::from_unix_ms(1795419900000);
  const auto out = dead_letter_record(failed_record(), Outcome::retry("paypipe.notification.HttpTimeout", "timed out"),
                                      "notification-sender", "dlq.notification-sender", 1, now);
  CHECK(out.topic == "dlq.notification-sender");
  CHECK(out.key == "order-1");
  CHECK(out.value == R"({"x":1})");
  CHECK(*find_header(out.headers, "ce_id") == "id-1");  // original headers kept
  CHECK(*find_header(out.headers, dlt::original_topic) == "payment.completed");
  CHECK(*find_header(out.headers, dlt::original_partition) == encode_int32(2));
  CHECK(*find_header(out.headers, dlt::original_offset) == encode_int64(0x0102030405LL));
  CHECK(*find_header(out.headers, dlt::original_timestamp) == encode_int64(1795419806123));
  // Kafka's TimestampType.toString(), what Spring writes and TimestampType.forName parses.
  CHECK(*find_header(out.headers, dlt::original_timestamp_type) == "CreateTime");
  CHECK(*find_header(out.headers, dlt::original_consumer_group) == "notification-sender");
  CHECK(*find_header(out.headers, dlt::exception_fqcn) == "paypipe.notification.HttpTimeout");
  CHECK(*find_header(out.headers, dlt::exception_message) == "timed out");
  CHECK(*find_header(out.headers, dlt::attempt) == "1");
  CHECK(*find_header(out.headers, dlt::failed_at) == "2026-11-23T07:45:00.000Z");
  CHECK(*find_header(out.headers, dlt::first_failed_at) == "2026-11-23T07:45:00.000Z");
  CHECK(*find_header(out.headers, dlt::failure_kind) == "retryable");

  const auto info = read_dead_letter(out.headers);
  REQUIRE(info.ok());
  CHECK(info->original_topic == "payment.completed");
  CHECK(info->original_partition == 2);
  CHECK(info->original_offset == 0x0102030405LL);
  CHECK(info->group == "notification-sender");
  CHECK(info->attempt == 1);
  CHECK(info->kind == Outcome::Kind::retryable);
}

TEST_CASE("a failure after a retry keeps the first failure's origin and replaces the rest") {
  const auto first = dead_letter_record(failed_record(), Outcome::retry("A", "first"), "g", "dlq.g", 1,
                                        core::from_unix_ms(1000));
  ConsumedRecord dlq;
  dlq.topic = "dlq.g";
  dlq.key = first.key;
  dlq.value = first.value;
  dlq.headers = first.headers;
  const auto retried = retry_record(dlq, "retry.g", 2);
  CHECK(retried.topic == "retry.g");
  CHECK(attempt_of(retried.headers) == 2);

  ConsumedRecord from_retry;
  from_retry.topic = "retry.g";
  from_retry.partition = 0;
  from_retry.offset = 7;
  from_retry.value = retried.value;
  from_retry.headers = retried.headers;
  const auto second = dead_letter_record(from_retry, Outcome::fail("B", "second"), "g", "dlq.g", 2,
                                         core::from_unix_ms(5000));
  int originals = 0, classes = 0;
  for (const auto& h : second.headers) {
    originals += h.name == dlt::original_topic;
    classes += h.name == dlt::exception_fqcn;
  }
  CHECK(originals == 1);
  CHECK(classes == 1);
  const auto info = read_dead_letter(second.headers);
  REQUIRE(info.ok());
  CHECK(info->original_topic == "payment.completed");  // not retry.g
  CHECK(info->error_class == "B");
  CHECK(info->attempt == 2);
  CHECK(info->kind == Outcome::Kind::fatal);
  CHECK(info->first_failed_at == "1970-01-01T00:00:01.000Z");
  CHECK(info->failed_at == "1970-01-01T00:00:05.000Z");
}

TEST_CASE("the original timestamp type is Kafka's TimestampType name, as Spring writes it") {
  auto record = failed_record();
  record.log_append_time = true;
  const auto out = dead_letter_record(record, Outcome::fail("A", "a"), "g", "dlq.g", 1, core::from_unix_ms(1000));
  CHECK(*find_header(out.headers, dlt::original_timestamp_type) == "LogAppendTime");

  // A dead letter written before the fix ("CREATE_TIME") is corrected when it fails again.
  ConsumedRecord old_letter;
  old_letter.topic = "retry.g";
  old_letter.headers = {{dlt::original_topic, "payment.completed"}, {dlt::original_timestamp_type, "CREATE_TIME"}};
  const auto again = dead_letter_record(old_letter, Outcome::fail("A", "a"), "g", "dlq.g", 2, core::from_unix_ms(2000));
  CHECK(*find_header(again.headers, dlt::original_timestamp_type) == "CreateTime");
}

TEST_CASE("records without our dead-letter headers are refused") {
  CHECK_FALSE(read_dead_letter({}).ok());
  CHECK(attempt_of({{"attempt", "zero"}}) == 1);
}
