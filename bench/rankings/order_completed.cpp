// bench-order-completed: publishes order.completed events, as order-processor would
// (keyed by order id), so the benchmark can measure ranking-updater alone on a backlog.
//
//   bench-order-completed --bootstrap 127.0.0.1:9092 --prefix bench. --count 200000 --products 1000
//
// Each order has 1 to 3 lines of random products (quantity 1 to 3) and completes "now".
// Prints one JSON object: {"produced":N,"units":U,"seconds":S}. Exit 1 if any record
// was not acknowledged.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "contracts/order_completed.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/producer.hpp"

using namespace paypipe;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  (void)core::log::init("bench-order-completed", "warn", core::log::Format::text);
  events::KafkaOptions kafka;
  kafka.bootstrap_servers = arg(argc, argv, "--bootstrap", "");
  kafka.topic_prefix = arg(argc, argv, "--prefix", "");
  kafka.client_id = "bench-order-completed";
  const long count = std::atol(arg(argc, argv, "--count", "100000").c_str());
  const long products = std::atol(arg(argc, argv, "--products", "1000").c_str());
  if (kafka.bootstrap_servers.empty() || count <= 0 || products <= 0) {
    std::cerr << "usage: bench-order-completed --bootstrap HOST:PORT --prefix P --count N --products M\n";
    return 2;
  }
  events::ProducerSettings settings;
  settings.linger = std::chrono::milliseconds(5);
  auto producer = events::Producer::create(kafka, settings);
  if (!producer) {
    std::cerr << producer.error().message << "\n";
    return 1;
  }
  std::mt19937_64 rng(42);
  std::atomic<long> failed{0};
  long units = 0;
  const auto started = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    contracts::OrderCompleted order;
    order.order_id = core::new_uuid_v7();
    order.user_id = "u" + std::to_string(i % 100000);
    for (unsigned line = 0, lines = 1 + static_cast<unsigned>(rng() % 3); line < lines; ++line) {
      const auto quantity = static_cast<std::int64_t>(1 + rng() % 3);
      order.items.push_back({"p" + std::to_string(rng() % static_cast<std::uint64_t>(products)), quantity, 1000});
      order.total_amount += quantity * 1000;
      units += quantity;
    }
    order.currency = "KRW";
    order.fulfilment = "SHIPPING";
    order.payment_id = core::new_uuid_v7();
    order.completed_at = core::now_rfc3339();
    auto sent = (*producer)->send_event(
        events::make_event("order.completed", "/bench", order.order_id, contracts::encode(order)),
        [&failed](const events::Delivery& d) {
          if (!d.status) ++failed;
        });
    if (!sent) {
      std::cerr << sent.error().message << "\n";
      return 1;
    }
  }
  if (auto s = (*producer)->flush(std::chrono::minutes(2)); !s) {
    std::cerr << s.error().message << "\n";
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << R"({"produced":)" << count - failed << R"(,"units":)" << units << R"(,"seconds":)" << seconds << "}\n";
  return failed == 0 ? 0 : 1;
}
