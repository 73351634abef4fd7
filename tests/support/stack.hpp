#pragma once
// The test harness's view of the shared stack (a real Kafka broker and a real
// PostgreSQL started by scripts/stack.py through the ctest `stack` fixture), and the
// helpers tests use on it. Every test isolates itself with unique topic prefixes,
// group names and database schemas, so tests may run in parallel on one stack.

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "events/kafka.hpp"
#include "pg/pg.hpp"

namespace paypipe::testing {

struct Stack {
  std::string kafka_bootstrap;
  std::string pg_dsn;
  std::string dir;
};

// Reads PAYPIPE_STACK_ENV; throws with a clear message when the stack is not running.
const Stack& stack();

// A fresh name of [a-z0-9_]: "<prefix>_<12 hex>".
std::string unique_name(std::string_view prefix);

events::KafkaOptions kafka_options(const std::string& topic_prefix);
pg::ConnectOptions pg_options(const std::string& schema);
pg::Connection connect(const std::string& schema);

// Creates `topics` (logical names) under `options.topic_prefix`.
void create_topics(const events::KafkaOptions& options, const std::vector<std::string>& topics, int partitions = 3);

// Reads a topic (full name) from the beginning until `count` records arrived or the
// timeout passed; returns what arrived.
std::vector<events::ConsumedRecord> read_topic(const events::KafkaOptions& options, const std::string& topic,
                                               std::size_t count, std::chrono::milliseconds timeout);

// Polls `condition` every `interval` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

std::int64_t query_integer(pg::Connection& connection, const std::string& sql);

}  // namespace paypipe::testing
