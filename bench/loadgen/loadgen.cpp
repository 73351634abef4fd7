// loadgen: drives POST /v1/payments of payment-api and reports throughput and latency.
//
//   loadgen --url http://127.0.0.1:8081 --orders orders.tsv --mode closed --connections 64 --seconds 20
//   loadgen --url ... --orders ... --mode open --rate 2000 --seconds 15
//
// orders.tsv: one "orderId<TAB>userId" per line; each request pays the next order (its
// Idempotency-Key is the order id). Closed loop: `connections` clients, each sending
// its next request when the previous answer arrives (the maximum the service
// sustains). Open loop: requests are due at a fixed rate and latency is counted from
// when each was DUE, not when it was sent, so a generator that falls behind hides
// nothing (no coordinated omission).
//
// Prints one JSON object: requests, answers by status, errors, throughput, latency
// percentiles in ms. --accepted FILE writes "paymentId<TAB>unixMs" of every 201, for
// the end-to-end latency probe.
//
// Every request carries its user's bearer token, as a client's would: --jwt-key PEM
// (with --jwt-kid, --jwt-iss, --jwt-aud) mints one per user before the run starts, so
// minting costs nothing during it and payment-api verifies a real signature each time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/sign.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "http/client.hpp"

using namespace paypipe;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string url = "http://127.0.0.1:8081";
  std::string orders;
  std::string mode = "closed";
  int connections = 64;
  double rate = 1000;
  double seconds = 10;
  int clients = 2;  // HTTP client instances (I/O threads)
  std::string accepted;
  std::string jwt_key, jwt_kid = "local-1", jwt_iss, jwt_aud;
};

struct Order {
  std::string order_id;
  std::string user_id;
};

struct Sample {
  double latency_ms;
  int status;
};

class Recorder {
 public:
  void add(double latency_ms, int status, const std::string& body) {
    std::lock_guard lock(mutex_);
    samples_.push_back({latency_ms, status});
    if (status == 201 && accepted_) {
      const auto at = body.find("\"paymentId\":\"");
      if (at != std::string::npos) {
        accepted_lines_.push_back(body.substr(at + 13, 36) + "\t" + std::to_string(core::to_unix_ms(core::now_ms())));
      }
    }
  }
  void error(const core::Error& e) {
    if (errors_++ == 0) std::cerr << "first error: " << e.code << ": " << e.message << std::endl;
  }
  void track_accepted() { accepted_ = true; }

  std::string report(double elapsed_s, const std::string& mode, double rate) {
    std::lock_guard lock(mutex_);
    std::vector<double> latencies;
    std::map<int, int> statuses;
    for (const auto& s : samples_) {
      latencies.push_back(s.latency_ms);
      ++statuses[s.status];
    }
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      if (latencies.empty()) return 0.0;
      return latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p / 100.0 * latencies.size()))];
    };
    core::json::Writer w;
    w.begin_object().field("mode", mode);
    if (mode == "open") w.field("targetRate", rate);
    w.field("seconds", elapsed_s)
        .field("answers", static_cast<std::int64_t>(samples_.size()))
        .field("errors", static_cast<std::int64_t>(errors_.load()))
        .field("throughput", static_cast<double>(samples_.size()) / elapsed_s);
    w.begin_object("status");
    for (const auto& [status, count] : statuses) w.field(std::to_string(status), count);
    w.end_object();
    w.begin_object("latencyMs")
        .field("p50", pct(50))
        .field("p90", pct(90))
        .field("p99", pct(99))
        .field("p999", pct(99.9))
        .field("max", latencies.empty() ? 0.0 : latencies.back())
        .end_object();
    w.end_object();
    return w.take();
  }

  void write_accepted(const std::string& path) {
    std::ofstream out(path);
    for (const auto& line : accepted_lines_) out << line << "\n";
  }

 private:
  std::mutex mutex_;
  std::vector<Sample> samples_;
  std::vector<std::string> accepted_lines_;
  std::atomic<long> errors_{0};
  bool accepted_ = false;
};

std::vector<Order> read_orders(const std::string& path) {
  std::vector<Order> orders;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    orders.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return orders;
}

// user id -> "Bearer <token>", filled before the run.
std::map<std::string, std::string> bearer_by_user;

http::ClientRequest payment_request(const Options& o, const Order& order) {
  std::vector<http::Header> headers{{"Content-Type", "application/json"}, {"Idempotency-Key", order.order_id}};
  if (const auto it = bearer_by_user.find(order.user_id); it != bearer_by_user.end()) {
    headers.push_back({"Authorization", it->second});
  }
  return http::ClientRequest{"POST", o.url + "/v1/payments", std::move(headers),
                             "{\"orderId\":\"" + order.order_id + "\",\"userId\":\"" + order.user_id + "\"}",
                             std::chrono::milliseconds(30000)};
}

}  // namespace

int main(int argc, char** argv) {
  (void)core::log::init("loadgen", "error", core::log::Format::text);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--url") o.url = v;
    else if (k == "--orders") o.orders = v;
    else if (k == "--mode") o.mode = v;
    else if (k == "--connections") o.connections = std::atoi(v.c_str());
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--clients") o.clients = std::atoi(v.c_str());
    else if (k == "--accepted") o.accepted = v;
    else if (k == "--jwt-key") o.jwt_key = v;
    else if (k == "--jwt-kid") o.jwt_kid = v;
    else if (k == "--jwt-iss") o.jwt_iss = v;
    else if (k == "--jwt-aud") o.jwt_aud = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  const auto orders = read_orders(o.orders);
  if (orders.empty()) {
    std::cerr << "no orders in " << o.orders << "\n";
    return 2;
  }
  if (!o.jwt_key.empty()) {
    auto key = auth::SigningKey::from_pem_file(o.jwt_key, o.jwt_kid);
    if (!key) {
      std::cerr << o.jwt_key << ": " << key.error().message << "\n";
      return 2;
    }
    const auto now = core::to_unix_ms(core::now_ms()) / 1000;
    for (const auto& order : orders) {
      if (bearer_by_user.count(order.user_id)) continue;
      auto token = key->sign(auth::claims_json({order.user_id, o.jwt_iss, o.jwt_aud, "", now, now + 6 * 3600, 0}));
      if (!token) {
        std::cerr << token.error().message << "\n";
        return 2;
      }
      bearer_by_user[order.user_id] = "Bearer " + *token;
    }
  }
  std::vector<std::unique_ptr<http::Client>> clients;
  for (int i = 0; i < o.clients; ++i) {
    http::ClientOptions options;
    options.max_idle_per_host = static_cast<std::size_t>(std::max(o.connections, 512));
    clients.push_back(std::make_unique<http::Client>(options));
  }
  Recorder recorder;
  if (!o.accepted.empty()) recorder.track_accepted();
  std::atomic<std::size_t> next{0};
  std::atomic<long> outstanding{0};
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));

  if (o.mode == "closed") {
    // Each virtual user sends its next request from the completion of the previous one.
    std::function<void(int)> send_next = [&](int user) {
      const auto index = next.fetch_add(1);
      if (index >= orders.size() || Clock::now() >= deadline) {
        --outstanding;
        return;
      }
      const auto sent = Clock::now();
      clients[static_cast<std::size_t>(user) % clients.size()]->async_send(
          payment_request(o, orders[index]), [&, user, sent](core::Result<http::ClientResponse> r) {
            const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
            if (r) recorder.add(ms, r->status, r->body);
            else recorder.error(r.error());
            send_next(user);
          });
    };
    outstanding = o.connections;
    for (int user = 0; user < o.connections; ++user) send_next(user);
    while (outstanding > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } else {
    const auto interval = std::chrono::duration<double>(1.0 / o.rate);
    std::size_t sent_count = 0;
    for (;;) {
      const auto due = started +
                       std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(sent_count));
      if (due >= deadline) break;
      const auto index = next.fetch_add(1);
      if (index >= orders.size()) break;
      std::this_thread::sleep_until(due);
      ++outstanding;
      clients[sent_count % clients.size()]->async_send(
          payment_request(o, orders[index]), [&, due](core::Result<http::ClientResponse> r) {
            const double ms = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
            if (r) recorder.add(ms, r->status, r->body);
            else recorder.error(r.error());
            --outstanding;
          });
      ++sent_count;
    }
    while (outstanding > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << recorder.report(elapsed, o.mode, o.rate) << std::endl;
  if (!o.accepted.empty()) recorder.write_accepted(o.accepted);
  return 0;
}
