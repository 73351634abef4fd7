// Spring Kafka services beside ours on the same topics (issue 17, item 2), with a real
// Spring Kafka program (tests/interop/spring, built by its build.sh into the cache; the
// `spring_program` fixture links it at build/spring-interop), in ONE JVM run:
//   1. Spring produces order.completed with JsonSerializer (with __TypeId__, without, and
//      one invalid event); ranking-updater, the topic configured for plain JSON, counts
//      the two valid orders and dead-letters the invalid one with its reason, nothing else.
//   2. Our producer writes payment.completed with the Spring option (PAYPIPE_SPRING_TYPE_IDS:
//      a __TypeId__ header); a @KafkaListener with JsonDeserializer reads the object. And
//      payment.failed with an empty class (no __TypeId__): a listener whose JsonDeserializer
//      has a default type reads it.
//   3. A @KafkaListener reads our dead letter through Spring's KafkaHeaders.DLT_ORIGINAL_*
//      conversions, and Kafka's TimestampType.forName parses its timestamp type.
// And the migration's takeover of a Spring service's consumer group (second case, a
// second JVM run).

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/admin.hpp"
#include "events/dead_letter.hpp"
#include "events/envelope.hpp"
#include "events/producer.hpp"
#include "support/child_process.hpp"
#include "support/daemon.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The Spring program's output lines, by their first word.
struct SpringRun {
  int exit_code = -1;
  std::string output;
  std::vector<std::string> lines(const std::string& word) const {
    std::vector<std::string> found;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(word + " ", 0) == 0) found.push_back(line);
    }
    return found;
  }
};

// Runs the program to its end (killed after `limit`); stdout and stderr to `log`.
SpringRun run_spring(const std::vector<std::string>& arguments, const fs::path& log, std::chrono::seconds limit) {
  const fs::path program = fs::path(testing::build_dir()) / "spring-interop";
  INFO("the Spring program in " << program.string() << " (tests/interop/spring/build.sh, fixture spring_program)");
  REQUIRE(fs::exists(program / ".complete"));
  std::vector<std::string> args{"java",
                                "-Xmx256m",
                                "-XX:+UseSerialGC",
                                "-XX:TieredStopAtLevel=1",
                                "-cp",
                                (program / "*").string(),
                                "dev.paypipe.interop.SpringInterop"};
  args.insert(args.end(), arguments.begin(), arguments.end());
  SpringRun run;
  run.exit_code = testing::ChildProcess(args, log.string()).wait(limit);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  run.output = text.str();
  return run;
}

std::string payment_completed_json(const std::string& payment_id, const std::string& order_id) {
  core::json::Writer w;
  w.begin_object()
      .field("paymentId", payment_id)
      .field("orderId", order_id)
      .field("userId", "user-1")
      .field("amount", 5000)
      .field("currency", "KRW")
      .field("completedAt", core::now_rfc3339())
      .end_object();
  return w.take();
}

std::string payment_failed_json(const std::string& payment_id, const std::string& order_id) {
  core::json::Writer w;
  w.begin_object()
      .field("paymentId", payment_id)
      .field("orderId", order_id)
      .field("userId", "user-2")
      .field("amount", 7000)
      .field("currency", "KRW")
      .field("reason", "INSUFFICIENT_FUNDS")
      .field("failedAt", core::now_rfc3339())
      .end_object();
  return w.take();
}

// "key=value,..." of a map, for messages.
template <typename Value>
std::string listed(const std::map<std::string, Value>& map) {
  std::string out;
  for (const auto& [key, value] : map) out += (out.empty() ? "" : ",") + key + "=" + std::to_string(value);
  return out;
}

std::string field_of(const std::string& line, const std::string& name) {
  const auto at = line.find(" " + name + "=");
  if (at == std::string::npos) return {};
  const auto start = at + name.size() + 2;
  return line.substr(start, line.find(' ', start) - start);
}

}  // namespace

TEST_CASE("Spring producers and consumers on our topics: plain JSON in, __TypeId__ out, dead letters Spring reads") {
  testing::System system;
  const std::string& prefix = system.prefix();
  testing::Daemon ranking(
      system, "ranking-updater",
      {{"PAYPIPE_PLAIN_JSON_TOPICS", "order.completed=dev.paypipe.order.completed.v1"},
       {"PAYPIPE_PLAIN_JSON_TYPE_IDS", "dev.paypipe.interop.OrderCompleted=dev.paypipe.order.completed.v1"}});
  ranking.wait_ready();

  // 2. Ours, with the Spring option, before the listener starts (it reads from the earliest).
  auto options = system.kafka();
  auto interop = events::make_spring_interop(
      {}, {}, {{"payment.completed", "dev.paypipe.interop.PaymentCompleted"}, {"payment.failed", ""}});
  REQUIRE(interop.ok());
  options.interop = *interop;
  auto producer = events::Producer::create(options);
  REQUIRE(producer.ok());
  const std::string payment_id = core::new_uuid_v7();
  const std::string order_id = core::new_uuid_v7();
  const auto paid = events::make_event("payment.completed", "/paypipe/payment-api", order_id,
                                       payment_completed_json(payment_id, order_id));
  const std::string failed_order_id = core::new_uuid_v7();
  const auto failed = events::make_event("payment.failed", "/paypipe/payment-api", failed_order_id,
                                         payment_failed_json(core::new_uuid_v7(), failed_order_id));
  for (const auto* event : {&paid, &failed}) {
    std::promise<core::Status> delivered;
    REQUIRE((*producer)->send_event(*event, [&](const events::Delivery& d) { delivered.set_value(d.status); }).ok());
    REQUIRE((*producer)->flush(10s).ok());
    REQUIRE(delivered.get_future().get().ok());
  }

  // 1 and 3 in the same JVM run.
  const std::string product = "spring-" + testing::unique_name("p").substr(2);
  const fs::path log = fs::path(system.log_dir()) / "spring.log";
  INFO("the Spring program's output: " << log.string() << "; ranking-updater's log: " << ranking.log_path());
  const auto run = run_spring(
      {"--bootstrap=" + testing::stack().kafka_bootstrap, "--produce-topic=" + prefix + "order.completed",
       "--product=" + product, "--listen-topic=" + prefix + "payment.completed",
       "--listen-default-type-topic=" + prefix + "payment.failed", "--listen-count=2",
       "--dlt-topic=" + prefix + "dlq.ranking-updater", "--dlt-count=1", "--group=" + prefix + "spring",
       "--timeout-seconds=45"},
      log, 60s);
  INFO(run.output);
  CHECK(run.lines("FAILED").empty());
  REQUIRE(run.exit_code == 0);

  // 1. Both valid orders counted (2 + 3 units), the invalid one dead-lettered with its reason.
  const auto produced = run.lines("PRODUCED");
  REQUIRE(produced.size() == 3);
  REQUIRE(produced[2].rfind("PRODUCED invalid ", 0) == 0);
  std::istringstream invalid_at(produced[2].substr(std::string("PRODUCED invalid ").size()));
  std::string invalid_topic;
  int invalid_partition = -1;
  long long invalid_offset = -1;
  invalid_at >> invalid_topic >> invalid_partition >> invalid_offset;
  const bool counted = testing::eventually(
      [&] {
        auto r = ranking.get("/v1/rankings/products?window=all");
        if (!r.ok() || r->status != 200) return false;
        auto doc = core::json::parse(r->body);
        if (!doc.ok() || !doc->IsObject() || !doc->HasMember("items")) return false;
        for (const auto& item : (*doc)["items"].GetArray()) {
          if (item["productId"].GetString() == product) return item["unitsSold"].GetInt64() == 5;
        }
        return false;
      },
      30s, 100ms);
  CHECK(counted);
  const auto dead = testing::read_topic(options, options.topic("dlq.ranking-updater"), 2, 3s);
  REQUIRE(dead.size() == 1);  // the invalid one only
  const auto info = events::read_dead_letter(dead[0].headers);
  REQUIRE(info.ok());
  CHECK(info->original_topic == prefix + "order.completed");
  CHECK(info->original_partition == invalid_partition);
  CHECK(info->original_offset == invalid_offset);
  CHECK(info->error_class == "paypipe.events.SchemaViolation");
  CHECK(info->message.find("items") != std::string::npos);

  // 2. The Spring listeners' objects: of the class our __TypeId__ named, and of the default type.
  auto listened = run.lines("LISTENED");
  REQUIRE(listened.size() == 2);
  std::sort(listened.begin(), listened.end());
  CHECK(listened[0].find("LISTENED dev.paypipe.interop.PaymentCompleted key=" + order_id + " ") == 0);
  const auto object = core::json::parse(listened[0].substr(listened[0].find('{')));
  REQUIRE(object.ok());
  CHECK(std::string((*object)["paymentId"].GetString()) == payment_id);
  CHECK(std::string((*object)["orderId"].GetString()) == order_id);
  CHECK((*object)["amount"].GetInt64() == 5000);
  CHECK(listened[1].find("LISTENED dev.paypipe.interop.PaymentFailed key=" + failed_order_id + " ") == 0);
  const auto failed_object = core::json::parse(listened[1].substr(listened[1].find('{')));
  REQUIRE(failed_object.ok());
  CHECK(std::string((*failed_object)["reason"].GetString()) == "INSUFFICIENT_FUNDS");
  CHECK((*failed_object)["amount"].GetInt64() == 7000);

  // 3. Our dead letter through Spring's header conversions.
  const auto letters = run.lines("DEAD-LETTER");
  REQUIRE(letters.size() == 1);
  CHECK(field_of(letters[0], "topic") == prefix + "order.completed");
  CHECK(field_of(letters[0], "partition") == std::to_string(invalid_partition));
  CHECK(field_of(letters[0], "offset") == std::to_string(invalid_offset));
  CHECK(field_of(letters[0], "timestamp") == std::to_string(info->original_timestamp_ms));
  CHECK(field_of(letters[0], "timestamp-type") == "CREATE_TIME");  // TimestampType.forName("CreateTime")
  CHECK(field_of(letters[0], "group") == "ranking-updater");
  CHECK(field_of(letters[0], "exception") == "paypipe.events.SchemaViolation");
}

// The migration's takeover step (docs/migrating-from-spring.md): the Spring service of a
// group handles and commits some records, then stops; our daemon started under the same
// group name (the spring naming profile: ranking-updater is `ranking-update-group`) goes
// on from Spring's committed offsets: nothing Spring handled is applied again, nothing
// after it is missed, nothing is dead-lettered. One JVM run.
TEST_CASE("ranking-updater takes over a Spring service's consumer group from its committed offsets") {
  constexpr int orders = 6;
  constexpr int handled_by_spring = 3;
  testing::System system(3, {{"PAYPIPE_NAMING_PROFILE", "spring"}});
  const std::string& prefix = system.prefix();
  const auto& options = system.kafka();
  const std::string group = options.group("ranking-updater");
  REQUIRE(group == prefix + "ranking-update-group");
  const std::string topic = options.topic("order.completed");

  // The Spring order service writes the orders; the Spring ranking service handles and
  // commits the first three it reads in ranking-update-group, then stops.
  const std::string product = "takeover-" + testing::unique_name("p").substr(2);
  const fs::path log = fs::path(system.log_dir()) / "spring-takeover.log";
  INFO("the Spring program's output: " << log.string());
  const auto run = run_spring(
      {"--bootstrap=" + testing::stack().kafka_bootstrap, "--produce-topic=" + topic, "--product=" + product,
       "--produce-orders=" + std::to_string(orders), "--consume-topic=" + topic, "--group=" + group,
       "--consume-and-commit=" + std::to_string(handled_by_spring), "--timeout-seconds=30"},
      log, 45s);
  INFO(run.output);
  CHECK(run.lines("FAILED").empty());
  REQUIRE(run.exit_code == 0);
  REQUIRE(run.lines("PRODUCED").size() == orders);
  const auto consumed = run.lines("CONSUMED");
  REQUIRE(consumed.size() == handled_by_spring);

  // Spring's commits: per partition, just past the records it handled.
  std::set<std::string> spring_products;
  std::map<std::string, std::int64_t> spring_next;  // partition -> the offset after Spring's last
  for (const auto& line : consumed) {
    std::istringstream in(line.substr(std::string("CONSUMED ").size()));
    std::string product_id, record_topic;
    int partition = -1;
    std::int64_t offset = -1;
    in >> product_id >> record_topic >> partition >> offset;
    CHECK(record_topic == topic);
    spring_products.insert(product_id);
    auto& next = spring_next[std::to_string(partition)];
    next = std::max(next, offset + 1);
  }
  auto admin = events::Admin::create(options);
  REQUIRE(admin.ok());
  const auto committed_on = [&](const events::GroupDescription& description) {
    std::map<int, events::PartitionLag> found;
    for (const auto& p : description.partitions) {
      if (p.topic == topic && p.committed >= 0) found[p.partition] = p;
    }
    return found;
  };
  {
    const auto before = (*admin)->describe_group(group, 10s);
    REQUIRE(before.ok());
    std::map<std::string, std::int64_t> committed;
    for (const auto& [partition, lag] : committed_on(*before)) committed[std::to_string(partition)] = lag.committed;
    CHECK(listed(committed) == listed(spring_next));
  }

  // Our daemon under the same group name, reading Spring's plain JSON.
  testing::Daemon ranking(
      system, "ranking-updater",
      {{"PAYPIPE_PLAIN_JSON_TOPICS", "order.completed=dev.paypipe.order.completed.v1"},
       {"PAYPIPE_PLAIN_JSON_TYPE_IDS", "dev.paypipe.interop.OrderCompleted=dev.paypipe.order.completed.v1"}});
  ranking.wait_ready();
  INFO("ranking-updater's log: " << ranking.log_path());
  const auto units_sold = [&] {
    std::map<std::string, std::int64_t> units;  // productId -> units sold
    auto r = ranking.get("/v1/rankings/products?window=all&limit=100");
    if (!r.ok() || r->status != 200) return units;
    auto doc = core::json::parse(r->body);
    if (!doc.ok() || !doc->IsObject() || !doc->HasMember("items")) return units;
    for (const auto& item : (*doc)["items"].GetArray())
      units[item["productId"].GetString()] = item["unitsSold"].GetInt64();
    return units;
  };
  // Done when the group has committed every order (offsets start at 0 on the fresh topic).
  const bool caught_up = testing::eventually(
      [&] {
        const auto now = (*admin)->describe_group(group, 5s);
        if (!now.ok()) return false;
        std::int64_t next = 0;
        for (const auto& [partition, lag] : committed_on(*now)) next += lag.committed;
        return next == orders;
      },
      30s, 200ms);
  REQUIRE(caught_up);
  std::map<std::string, std::int64_t> expected;
  for (int i = 1; i <= orders; ++i) {
    const std::string id = product + "-" + std::to_string(i);
    if (!spring_products.contains(id)) expected[id] = 1;
  }
  REQUIRE(expected.size() == orders - handled_by_spring);
  CHECK(listed(units_sold()) == listed(expected));  // the others once each, none of Spring's
  CHECK(testing::read_topic(options, options.topic("dlq.ranking-updater"), 1, 2s).empty());
  CHECK(testing::read_topic(options, options.topic("retry.ranking-updater"), 1, 2s).empty());
}
