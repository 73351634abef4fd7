// bench-coupon-requests: publishes coupon.requested events, as coupon-issuer's HTTP side
// would (keyed by coupon id, one new request id each), so the benchmark can measure the
// decider alone on a backlog.
//
//   bench-coupon-requests --bootstrap 127.0.0.1:9092 --prefix bench. --coupons id1,id2 --count 50000
//
// Requests go to the coupons in turn; user ids are "u<n>", unique per request. Prints
// one JSON object: {"produced":N,"seconds":S}. Exit 1 if any record was not acknowledged.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/coupon_requested.hpp"
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

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  (void)core::log::init("bench-coupon-requests", "warn", core::log::Format::text);
  events::KafkaOptions kafka;
  kafka.bootstrap_servers = arg(argc, argv, "--bootstrap", "");
  kafka.topic_prefix = arg(argc, argv, "--prefix", "");
  kafka.client_id = "bench-coupon-requests";
  const auto coupons = split(arg(argc, argv, "--coupons", ""));
  const long count = std::atol(arg(argc, argv, "--count", "10000").c_str());
  if (kafka.bootstrap_servers.empty() || coupons.empty() || count <= 0) {
    std::cerr << "usage: bench-coupon-requests --bootstrap HOST:PORT --prefix P --coupons ID[,ID...] --count N\n";
    return 2;
  }
  events::ProducerSettings settings;
  settings.linger = std::chrono::milliseconds(5);
  auto producer = events::Producer::create(kafka, settings);
  if (!producer) {
    std::cerr << producer.error().message << "\n";
    return 1;
  }
  std::atomic<long> failed{0};
  const auto started = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    const auto& coupon = coupons[static_cast<std::size_t>(i) % coupons.size()];
    const contracts::CouponRequested data{core::new_uuid_v7(), coupon, "u" + std::to_string(i), core::now_rfc3339()};
    auto sent = (*producer)->send_event(
        events::make_event("coupon.requested", "/bench", coupon, contracts::encode(data)),
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
  std::cout << R"({"produced":)" << count - failed << R"(,"seconds":)" << seconds << "}\n";
  return failed == 0 ? 0 : 1;
}
