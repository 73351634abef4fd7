// The outbox published by Debezium instead of our relay (issue 15): Kafka Connect
// standalone runs Debezium's PostgreSQL connector with the outbox EventRouter as
// deploy/debezium/outbox-connector.properties configures it.
//   1. On an outbox written with payment-api's calls (append_to_outbox) and touched as
//      the relay touches it (updates, deletes): our consumer runtime decodes every
//      record, dead-letters none, and no extra record appears.
//   2. On payment-api's own outbox, the daemon running with PAYPIPE_OUTBOX_RELAY=off:
//      a payment reaches order-processor (a daemon) through Debezium alone.
// The jars come from Maven Central through scripts/bootstrap.sh; PostgreSQL runs with
// wal_level=logical (scripts/stack.py).

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "contracts/payment_completed.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/trace.hpp"
#include "core/uuid.hpp"
#include "events/consumer_runtime.hpp"
#include "events/event_types.hpp"
#include "events/migrations.hpp"
#include "events/outbox.hpp"
#include "events/producer.hpp"
#include "pg/migrate.hpp"
#include "support/child_process.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The versions scripts/bootstrap.sh fetches (debezium_jars_dir in scripts/lib.sh).
constexpr const char* debezium_version = "3.6.1.Final";
constexpr const char* connect_version = "3.9.1";

fs::path connect_jars() {
  fs::path cache;
  if (const char* dir = std::getenv("PAYPIPE_CACHE")) {
    cache = dir;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME")) {
    cache = fs::path(xdg) / "paypipe";
  } else {
    cache = fs::path(std::getenv("HOME")) / ".cache" / "paypipe";
  }
  return cache / (std::string("debezium-") + debezium_version + "-connect-" + connect_version);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Kafka Connect standalone as a child process; killed (and the slot dropped by the
// caller) if the test ends early.
class ConnectStandalone {
 public:
  ConnectStandalone(const fs::path& dir, const fs::path& worker, const fs::path& connector, const fs::path& log)
      : process_(arguments(dir, worker, connector), log.string()) {}
  bool running() { return process_.running(); }
  // SIGTERM (the connector drops its slot), SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace) { (void)process_.stop(grace); }

 private:
  static std::vector<std::string> arguments(const fs::path& dir, const fs::path& worker, const fs::path& connector) {
    const std::string classpath = (connect_jars() / "*").string();
    const std::string log4j = "-Dlog4j.configuration=file:" + (dir / "log4j.properties").string();
    std::ofstream(dir / "log4j.properties") << "log4j.rootLogger=INFO, file\n"
                                               "log4j.appender.file=org.apache.log4j.ConsoleAppender\n"
                                               "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                                               "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n";
    return {"java",
            "-Xmx384m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",  // starts faster; the load here is small
            log4j,
            "-cp",
            classpath,
            "org.apache.kafka.connect.cli.ConnectStandalone",
            worker.string(),
            connector.string()};
  }

  testing::ChildProcess process_;
};

// Debezium on Kafka Connect standalone, publishing the outbox of `schema` with the
// documented connector configuration (deploy/debezium/outbox-connector.properties), only
// its per-deployment lines overridden (a later key wins in a properties file). Its slot,
// publication and files go with it, on failure too: a slot left behind would hold WAL
// back for the rest of the run.
class DebeziumOutbox {
 public:
  DebeziumOutbox(pg::Connection& connection, const std::string& schema, const std::string& topic_prefix)
      : connection_(connection), name_(testing::unique_name("dbz")), dir_(fs::temp_directory_path() / name_) {
    fs::create_directories(dir_);
    const fs::path log_dir = fs::path(testing::build_dir()) / "test-logs" / "interop";
    fs::create_directories(log_dir);
    log_ = log_dir / (name_ + ".log");
    auto server = connection.exec(
        "SELECT host(inet_server_addr()), inet_server_port(), current_database(), current_user");
    REQUIRE(server.ok());
    REQUIRE(server->size() == 1);
    std::ofstream(dir_ / "worker.properties") << "bootstrap.servers=" << testing::stack().kafka_bootstrap << "\n"
                                              << "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
                                              << "value.converter=org.apache.kafka.connect.storage.StringConverter\n"
                                              << "offset.storage.file.filename=" << (dir_ / "offsets").string() << "\n"
                                              << "offset.flush.interval.ms=1000\n"
                                              << "listeners=http://127.0.0.1:0\n";
    std::ofstream(dir_ / "outbox.properties")
        << read_file(fs::path(testing::source_dir()) / "deploy/debezium/outbox-connector.properties") << "\n"
        << "# tests/interop overrides\n"
        << "database.hostname=" << server->str(0, 0) << "\n"
        << "database.port=" << server->str(0, 1) << "\n"
        << "database.dbname=" << server->str(0, 2) << "\n"
        << "database.user=" << server->str(0, 3) << "\n"
        << "table.include.list=" << schema << ".outbox\n"
        << "slot.name=" << name_ << "\n"
        << "publication.name=" << name_ << "\n"
        << "topic.prefix=" << name_ << "\n"
        << "transforms.outbox.route.topic.replacement=" << topic_prefix << "${routedByValue}\n"
        << "slot.drop.on.stop=true\n";
    connect_.emplace(dir_, dir_ / "worker.properties", dir_ / "outbox.properties", log_);
  }
  ~DebeziumOutbox() {
    stop();
    (void)connection_.exec(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        "WHERE slot_name = $1 AND NOT active",
        name_);
    (void)connection_.exec("DROP PUBLICATION IF EXISTS " + name_);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  DebeziumOutbox(const DebeziumOutbox&) = delete;
  DebeziumOutbox& operator=(const DebeziumOutbox&) = delete;

  // Streaming once the connector holds its slot: rows committed from then on are read.
  void wait_streaming() {
    INFO("Kafka Connect's log: " << log_.string());
    REQUIRE(testing::eventually(
        [&] {
          REQUIRE(connect_->running());
          return testing::query_integer(connection_, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                                                         name_ + "' AND active") == 1;
        },
        150s, 200ms));
  }
  void stop() {
    if (connect_) connect_->stop(30s);
    connect_.reset();
  }

 private:
  pg::Connection& connection_;
  std::string name_;
  fs::path dir_;
  fs::path log_;
  std::optional<ConnectStandalone> connect_;
};

events::Event payment_completed(int amount, const std::string& order_id = core::new_uuid_v7()) {
  core::json::Writer w;
  w.begin_object()
      .field("paymentId", core::new_uuid_v7())
      .field("orderId", order_id)
      .field("userId", "user-1")
      .field("amount", amount)
      .field("currency", "KRW")
      .field("completedAt", core::now_rfc3339())
      .end_object();
  return events::make_event("payment.completed", "/paypipe/payment-api", order_id, w.take());
}

events::Event payment_failed(const std::string& order_id) {
  core::json::Writer w;
  w.begin_object()
      .field("paymentId", core::new_uuid_v7())
      .field("orderId", order_id)
      .field("userId", "user-2")
      .field("amount", 5000)
      .field("currency", "KRW")
      .field("reason", "INSUFFICIENT_FUNDS")
      .field("failedAt", core::now_rfc3339())
      .end_object();
  return events::make_event("payment.failed", "/paypipe/payment-api", order_id, w.take());
}

std::string string_member(const core::json::Document& doc, const char* name) {
  const auto it = doc.FindMember(name);
  return it == doc.MemberEnd() || !it->value.IsString() ? std::string{} : it->value.GetString();
}

void require_jars() {
  const fs::path jars = connect_jars();
  INFO("Kafka Connect and Debezium jars in " << jars.string() << " (scripts/bootstrap.sh fetches them)");
  REQUIRE(fs::exists(jars / ".complete"));
}

std::string text_member(const std::string& body, const char* name) {
  auto doc = core::json::parse(body);
  REQUIRE(doc.ok());
  REQUIRE(doc->IsObject());
  return string_member(*doc, name);
}

}  // namespace

TEST_CASE("Debezium's outbox EventRouter publishes records our consumer decodes; nothing is dead-lettered") {
  require_jars();

  // payment-api's outbox, in a schema of its own; its topics under a fresh prefix.
  const std::string name = testing::unique_name("dbz");
  const std::string schema = name + "_payment_api";
  const std::string prefix = name + ".";
  const std::string group = "interop";
  auto options = testing::kafka_options(prefix);
  testing::create_topics(options, {"payment.completed", "payment.failed", "dlq." + group}, 3);
  pg::Connection connection = testing::connect(schema);
  REQUIRE(pg::migrate(connection, schema, events::migrations::embedded_files()).ok());
  struct DropSchema {
    pg::Connection& connection;
    std::string schema;
    ~DropSchema() { (void)connection.exec("DROP SCHEMA " + schema + " CASCADE"); }
  } drop_schema{connection, schema};

  DebeziumOutbox debezium(connection, schema, prefix);
  debezium.wait_streaming();

  // What payment-api writes: completed payments, a failed one, one of them inside a trace.
  std::vector<events::Event> written;
  for (int round = 0; round < 3; ++round) {
    auto tx = pg::Transaction::begin(connection);
    REQUIRE(tx.ok());
    for (int i = 0; i < 5; ++i) {
      written.push_back(payment_completed(1000 * round + i));
      REQUIRE(events::append_to_outbox(*tx, written.back(), "payment").ok());
    }
    REQUIRE(tx->commit().ok());
  }
  {
    core::TraceScope trace(core::TraceContext::generate());
    written.push_back(payment_failed(written.front().key));
    REQUIRE(!written.back().traceparent.empty());
    auto tx = pg::Transaction::begin(connection);
    REQUIRE(tx.ok());
    REQUIRE(events::append_to_outbox(*tx, written.back(), "payment").ok());
    REQUIRE(tx->commit().ok());
  }
  // What our relay does to the rows meanwhile: counts a failed attempt, deletes what it
  // published. The EventRouter skips updates (warns) and deletes: no record, no tombstone.
  REQUIRE(connection.exec("UPDATE outbox SET attempts = attempts + 1").ok());
  REQUIRE(connection.exec("DELETE FROM outbox").ok());
  // A last event after them: once it arrives, the update and the delete were read too.
  {
    auto tx = pg::Transaction::begin(connection);
    REQUIRE(tx.ok());
    written.push_back(payment_completed(7, written.front().key));  // the first one's key: its partition
    REQUIRE(events::append_to_outbox(*tx, written.back(), "payment").ok());
    REQUIRE(tx->commit().ok());
  }

  // Our consumer runtime, as every service runs it: decode, validate the schema, handle.
  auto producer = events::Producer::create(options);
  REQUIRE(producer.ok());
  events::RuntimeSettings settings;
  settings.consumer.group = group;
  settings.consumer.topics = {"payment.completed", "payment.failed"};
  settings.subscribe_retry_topic = false;
  settings.batch_size = 10;
  std::mutex mutex;
  std::map<std::string, events::ConsumedEvent> consumed;
  std::vector<std::string> order_of_first_key;
  auto runtime = events::ConsumerRuntime::batch(
      options, settings, **producer, [&](std::span<const events::ConsumedEvent> batch) {
        std::lock_guard lock(mutex);
        for (const auto& e : batch) {
          consumed.emplace(e.event.id, e);
          if (e.event.key == written.front().key && e.event.type == contracts::PaymentCompleted::type) {
            order_of_first_key.push_back(e.event.id);
          }
        }
        return std::vector<events::Outcome>(batch.size(), events::Outcome::ok());
      });
  REQUIRE(runtime.ok());
  REQUIRE((*runtime)->start().ok());
  const bool all_arrived = testing::eventually(
      [&] {
        std::lock_guard lock(mutex);
        return consumed.size() >= written.size();
      },
      150s, 100ms);  // Connect under a loaded CI machine: once seen taking over 90 s
  (*runtime)->stop();
  debezium.stop();

  const auto dead = testing::read_topic(options, options.topic("dlq." + group), 1, 3s);
  CHECK(dead.empty());  // nothing undecodable, nothing schema-invalid
  REQUIRE(all_arrived);

  // Every event once, with the attributes the relay would have sent.
  const auto completed = testing::read_topic(options, options.topic("payment.completed"), written.size(), 5s);
  CHECK(completed.size() == written.size() - 1);  // no extra record for the update or the delete
  std::lock_guard lock(mutex);
  CHECK(consumed.size() == written.size());
  for (const auto& sent : written) {
    INFO("event " << sent.id << " " << sent.type);
    const auto it = consumed.find(sent.id);
    REQUIRE(it != consumed.end());
    const auto& got = it->second.event;
    CHECK(it->second.topic == options.topic(events::topic_of(sent.type)));
    CHECK(got.type == sent.type);
    CHECK(got.source == sent.source);
    CHECK(got.time == sent.time);
    CHECK(got.dataschema == sent.dataschema);
    CHECK(got.traceparent == sent.traceparent);
    CHECK(got.key == sent.key);
    auto sent_data = core::json::parse(sent.data);
    auto got_data = core::json::parse(got.data);
    REQUIRE(sent_data.ok());
    REQUIRE(got_data.ok());
    CHECK(string_member(*got_data, "paymentId") == string_member(*sent_data, "paymentId"));
    CHECK(*got_data == *sent_data);
  }
  // One key's events of one topic in the order they were written.
  CHECK(order_of_first_key == std::vector<std::string>{written.front().id, written.back().id});
}

TEST_CASE(
    "payment-api with PAYPIPE_OUTBOX_RELAY=off: Debezium publishes its outbox and order-processor completes the "
    "order") {
  require_jars();
  const std::string admin_token = "interop-admin-token";
  testing::System system;  // every topic, dlq.order-processor among them
  testing::Daemon payments(system, "payment-api", {{"PAYPIPE_OUTBOX_RELAY", "off"}});
  testing::Daemon orders(system, "order-processor", {{"PAYPIPE_ADMIN_TOKEN", admin_token}});
  payments.wait_ready();  // its schema migrated: the outbox exists
  orders.wait_ready();
  pg::Connection connection = testing::connect(system.schema("payment-api"));
  DebeziumOutbox debezium(connection, system.schema("payment-api"), system.prefix());
  debezium.wait_streaming();

  // A shopper's path through both APIs (as tests/e2e/orders_e2e_test.cpp drives it).
  const std::vector<http::Header> admin{{"Authorization", "Bearer " + admin_token}};
  auto product = orders.post("/v1/products",
                             R"({"productId":"concert:A","name":"Concert A","unitPrice":30000,"totalStock":10,)"
                             R"("saleOpensAt":")" +
                                 core::format_rfc3339(core::now_ms() - 1h) + "\"}",
                             admin);
  REQUIRE(product.ok());
  REQUIRE(product->status == 201);
  auto placed = orders.post("/v1/orders",
                            R"({"userId":"alice","items":[{"productId":"concert:A","quantity":2,"unitPrice":30000}],)"
                            R"("fulfilment":"WAREHOUSE"})",
                            {testing::bearer("alice")});
  REQUIRE(placed.ok());
  REQUIRE(placed->status == 201);
  const std::string order_id = text_member(placed->body, "orderId");
  auto deposit = payments.post("/v1/wallets/alice/deposits", R"({"amount":100000})",
                               {{"Idempotency-Key", core::new_uuid_v7()}, testing::deposit_credential()});
  REQUIRE(deposit.ok());
  REQUIRE(deposit->status == 201);
  const std::string key = core::new_uuid_v7();
  core::Result<http::ClientResponse> paid = core::make_error(core::ErrorCategory::internal, "unset", "");
  REQUIRE(testing::eventually(
      [&] {
        paid = payments.post("/v1/payments", R"({"orderId":")" + order_id + R"(","userId":"alice"})",
                             {{"Idempotency-Key", key}, testing::bearer("alice")});
        return paid.ok() && paid->status != 404;  // 404 until payment-api has seen order.created
      },
      30s, 50ms));
  INFO(paid->body);
  REQUIRE(paid->status == 201);
  const std::string payment_id = text_member(paid->body, "paymentId");

  // order-processor consumed Debezium's payment.completed: the order completes.
  std::string status;
  CHECK(testing::eventually(
      [&] {
        auto order = orders.get("/v1/orders/" + order_id, {testing::bearer("alice")});
        REQUIRE(order.ok());
        status = text_member(order->body, "status");
        return status == "COMPLETED";
      },
      60s, 100ms));
  CHECK(status == "COMPLETED");

  // Published once, by Debezium alone (the relay is off), as a CloudEvent.
  const auto& kafka = system.kafka();
  const auto completed = testing::read_topic(kafka, kafka.topic("payment.completed"), 2, 5s);
  REQUIRE(completed.size() == 1);
  CHECK(completed[0].key == order_id);
  const auto decoded = events::from_record(completed[0].key, completed[0].value, completed[0].headers);
  REQUIRE(decoded.ok());
  CHECK(decoded->source == "/paypipe/payment-api");
  CHECK(events::find_header(completed[0].headers, "__debezium.context.connectorName") != nullptr);
  CHECK(text_member(completed[0].value, "paymentId") == payment_id);
  // The relay left the row: only Debezium read it.
  CHECK(testing::query_integer(connection, "SELECT count(*) FROM outbox WHERE type = '" +
                                               std::string(contracts::PaymentCompleted::type) + "'") == 1);
  CHECK(testing::read_topic(kafka, kafka.topic("dlq.order-processor"), 1, 2s).empty());

  debezium.stop();
  CHECK(orders.stop() == 0);
  CHECK(payments.stop() == 0);
}
