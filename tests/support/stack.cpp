#include "support/stack.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

#include "events/admin.hpp"
#include "events/consumer.hpp"

namespace paypipe::testing {

const Stack& stack() {
  static const Stack instance = [] {
    const char* path = std::getenv("PAYPIPE_STACK_ENV");
    if (path == nullptr) {
      throw std::runtime_error("PAYPIPE_STACK_ENV is not set: run this test through ctest (the `stack` fixture)");
    }
    std::ifstream file(path);
    if (!file) throw std::runtime_error(std::string("no stack env file at ") + path + ": is the stack running?");
    std::map<std::string, std::string> values;
    std::string line;
    while (std::getline(file, line)) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    Stack s{values["KAFKA_BOOTSTRAP_SERVERS"], values["PG_DSN"], values["PAYPIPE_STACK_DIR"]};
    if (s.kafka_bootstrap.empty() || s.pg_dsn.empty()) throw std::runtime_error("stack env file is incomplete");
    return s;
  }();
  return instance;
}

std::string unique_name(std::string_view prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char hex[] = "0123456789abcdef";
  std::string name(prefix);
  name += '_';
  auto bits = rng();
  for (int i = 0; i < 12; ++i, bits >>= 4) name.push_back(hex[bits & 0xF]);
  return name;
}

events::KafkaOptions kafka_options(const std::string& topic_prefix) {
  events::KafkaOptions options;
  options.bootstrap_servers = stack().kafka_bootstrap;
  options.topic_prefix = topic_prefix;
  options.client_id = "paypipe-test";
  return options;
}

pg::ConnectOptions pg_options(const std::string& schema) {
  pg::ConnectOptions options;
  options.dsn = stack().pg_dsn;
  options.schema = schema;
  options.application_name = "paypipe-test";
  return options;
}

pg::Connection connect(const std::string& schema) {
  auto connection = pg::Connection::connect(pg_options(schema));
  if (!connection) throw std::runtime_error(connection.error().message);
  return std::move(connection).value();
}

void create_topics(const events::KafkaOptions& options, const std::vector<std::string>& topics, int partitions) {
  auto admin = events::Admin::create(options);
  if (!admin) throw std::runtime_error(admin.error().message);
  std::vector<events::TopicSpec> specs;
  for (const auto& t : topics) specs.push_back({options.topic(t), partitions, 1, {}});
  auto created = (*admin)->ensure_topics(specs, std::chrono::milliseconds(30000));
  if (!created) throw std::runtime_error(created.error().message);
}

std::vector<events::ConsumedRecord> read_topic(const events::KafkaOptions& options, const std::string& topic,
                                               std::size_t count, std::chrono::milliseconds timeout) {
  events::KafkaOptions reader = options;
  reader.topic_prefix.clear();  // `topic` is a full name
  reader.naming = {};
  events::ConsumerSettings settings;
  settings.group = unique_name("reader");
  settings.topics = {topic};
  auto consumer = events::KafkaConsumer::create(reader, settings, nullptr);
  if (!consumer) throw std::runtime_error(consumer.error().message);
  if (auto s = (*consumer)->subscribe(); !s) throw std::runtime_error(s.error().message);
  std::vector<events::ConsumedRecord> records;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    if (auto record = (*consumer)->poll(std::chrono::milliseconds(100))) records.push_back(std::move(*record));
  }
  return records;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::int64_t query_integer(pg::Connection& connection, const std::string& sql) {
  auto rows = connection.exec(sql);
  if (!rows) throw std::runtime_error(rows.error().message);
  if (rows->empty() || rows->is_null(0, 0)) return 0;
  return rows->integer(0, 0);
}

}  // namespace paypipe::testing
