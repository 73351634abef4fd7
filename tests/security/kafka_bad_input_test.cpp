// Hostile records on a real daemon's input topic (ranking-updater as a process): random
// bytes, CloudEvents headers missing, an unknown and a foreign ce_type, a huge header,
// a body that is not JSON and one that breaks the schema. Each goes to
// dlq.ranking-updater with its original bytes and its reason (Spring's kafka_dlt-*
// headers), and the good records behind them, on the same partition, are counted
// promptly. libs/events' dead_letter_path_test checks the runtime alone; this checks
// the daemon.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "contracts/order_completed.hpp"
#include "contracts/payment_completed.hpp"
#include "core/time.hpp"
#include "events/dead_letter.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "security_support.hpp"
#include "support/daemon.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

const std::string key = "poison-key";  // one key: one partition, the good records behind the bad

events::Event order_completed(const std::string& product) {
  const contracts::OrderCompleted order{
      core::new_uuid_v7(), "u1", {{product, 2, 100}}, 200, "KRW", "WAREHOUSE", core::new_uuid_v7(),
      core::now_rfc3339()};
  return events::make_event("order.completed", "/security", key, contracts::encode(order));
}

events::KafkaHeaders without(events::KafkaHeaders headers, const std::set<std::string>& names) {
  std::erase_if(headers, [&](const auto& h) { return names.count(h.name) > 0; });
  return headers;
}

std::string header_of(const events::ConsumedRecord& record, const char* name) {
  const auto* value = events::find_header(record.headers, name);
  return value ? *value : std::string();
}

}  // namespace

TEST_CASE(
    "bad records on a daemon's input topic go to dlq.<group> with their reason; good ones behind them are processed") {
  testing::System system;
  testing::Daemon rankings(system, "ranking-updater");
  rankings.wait_ready();
  auto producer = events::Producer::create(system.kafka());
  REQUIRE(producer.ok());
  const auto topic = system.kafka().topic("order.completed");

  std::mt19937 random(20240917);
  std::string noise(512, '\0');
  for (char& c : noise) c = static_cast<char>(random() & 0xff);

  struct Bad {
    std::string what;
    std::string value;
    events::KafkaHeaders headers;
    std::string error_class;  // expected kafka_dlt-exception-fqcn
    std::string message;      // expected inside kafka_dlt-exception-message
  };
  const auto valid = order_completed("sec-bad");
  const auto valid_headers = events::to_headers(valid);
  auto foreign = events::make_event(
      "payment.completed", "/security", key,
      contracts::encode(contracts::PaymentCompleted{core::new_uuid_v7(), core::new_uuid_v7(), "u1", 100, "KRW",
                                                    core::now_rfc3339()}));
  auto unknown_type = valid_headers;
  for (auto& h : unknown_type) {
    if (h.name == "ce_type") h.value = "order.exploded";
  }
  auto huge = valid_headers;
  for (auto& h : huge) {
    if (h.name == "ce_source") h.value = std::string(300 * 1024, 's');
  }
  const std::vector<Bad> bad{
      {"random bytes, no headers", noise, {}, "paypipe.events.UndecodableRecord", "missing header ce_id"},
      {"ce_id and ce_time missing", valid.data, without(valid_headers, {"ce_id", "ce_time"}),
       "paypipe.events.UndecodableRecord", "missing header ce_time"},
      {"an unknown ce_type", valid.data, unknown_type, "paypipe.events.SchemaViolation", "order.exploded"},
      {"a foreign ce_type (valid payment.completed on order.completed)", foreign.data, events::to_headers(foreign), "",
       "payment.completed"},
      {"a 300 KB ce_source header", valid.data, huge, "paypipe.events.UndecodableRecord", "ce_source is too long"},
      {"a body that is not JSON", "\xff\xfe{{{ not json", valid_headers, "paypipe.events.SchemaViolation", ""},
      {"a schema-invalid body", R"({"orderId":"not-a-uuid","items":"lots"})", valid_headers,
       "paypipe.events.SchemaViolation", ""},
  };
  for (const auto& b : bad) {
    INFO(b.what);
    REQUIRE((*producer)->send_and_wait({topic, key, b.value, b.headers}, 10s).ok());
  }
  // A valid event with a 300 KB header that is not ours: a valid CloudEvent, processed.
  const auto padded = order_completed("sec-padded");
  auto padded_headers = events::to_headers(padded);
  padded_headers.push_back({"x-padding", std::string(300 * 1024, 'p')});
  REQUIRE((*producer)->send_and_wait({topic, key, padded.data, padded_headers}, 10s).ok());
  const auto good = order_completed("sec-good");
  REQUIRE((*producer)->send_and_wait({topic, key, good.data, events::to_headers(good)}, 10s).ok());
  const auto sent_at = std::chrono::steady_clock::now();

  const auto counted = [&](const std::string& product) {
    auto r = rankings.get("/v1/rankings/products?window=all&limit=100");
    if (!r.ok() || r->status != 200) return false;
    const auto doc = testing::security::json_of(r->body);
    for (const auto& item : doc["items"].GetArray()) {
      if (std::string(item["productId"].GetString()) == product) return item["unitsSold"].GetInt64() == 2;
    }
    return false;
  };
  REQUIRE(testing::eventually([&] { return counted("sec-good"); }, 30s, 50ms));
  CHECK(std::chrono::steady_clock::now() - sent_at < 15s);
  CHECK(counted("sec-padded"));
  CHECK_FALSE(counted("sec-bad"));

  const auto dead = testing::read_topic(system.kafka(), system.kafka().topic(events::dlq_topic("ranking-updater")),
                                        bad.size(), 30s);
  REQUIRE(dead.size() == bad.size());
  // Dead letters of decoding failures are written at once, those of the handler after
  // its batch: match them by their bytes, not by their order.
  const auto same_record = [](const events::ConsumedRecord& d, const Bad& b) {
    if (d.value != b.value) return false;
    for (const auto& h : b.headers) {
      const auto* v = events::find_header(d.headers, h.name);
      if (v == nullptr || *v != h.value) return false;  // the original headers travel with it
    }
    for (const auto* name : {"ce_id", "ce_type", "ce_source", "ce_time"}) {
      const bool in_original = std::any_of(b.headers.begin(), b.headers.end(),
                                           [&](const auto& h) { return h.name == name; });
      if (!in_original && events::find_header(d.headers, name) != nullptr) return false;
    }
    return true;
  };
  std::set<std::size_t> matched;
  for (const auto& b : bad) {
    INFO(b.what);
    std::size_t found = dead.size();
    for (std::size_t i = 0; i < dead.size(); ++i) {
      if (matched.count(i) == 0 && same_record(dead[i], b)) {
        found = i;
        break;
      }
    }
    REQUIRE(found < dead.size());
    matched.insert(found);
    const auto& d = dead[found];
    REQUIRE(d.key.has_value());
    CHECK(*d.key == key);
    const auto info = events::read_dead_letter(d.headers);
    REQUIRE(info.ok());
    CHECK(info->original_topic == topic);
    CHECK(info->group.find("ranking-updater") != std::string::npos);
    CHECK(info->kind == events::Outcome::Kind::fatal);
    INFO("error class " << info->error_class << ", message: " << info->message.substr(0, 300));
    if (!b.error_class.empty()) {
      CHECK(info->error_class == b.error_class);
    } else {
      CHECK(info->error_class.rfind("paypipe.", 0) == 0);
      CHECK(info->error_class.find("events.") == std::string::npos);
    }
    CHECK(header_of(d, "kafka_dlt-exception-fqcn") == info->error_class);
    CHECK(info->message.find(b.message) != std::string::npos);
  }
  CHECK(rankings.running());
  auto ready = rankings.get("/readyz");
  REQUIRE(ready.ok());
  CHECK(ready->status == 200);
}
