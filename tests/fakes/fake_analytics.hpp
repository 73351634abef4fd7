#pragma once
// A fake analytics platform webhook: a real HTTP server on loopback that accepts
// POST <path> (CloudEvents JSON, with Idempotency-Key and Authorization) like the data
// platform does, and can be told to fail, rate-limit (429 with Retry-After), answer
// slowly, stall, or be down (its port refuses connections). It records every request on
// the wire by Idempotency-Key and every delivery it accepted, so a test can tell "sent
// twice" (wire duplicates) from "delivered twice" (accepted twice).
//
// In-process (tests) through this class; standalone (bench, run-local) as the
// fake-analytics executable, driven over HTTP on a separate control port (so that
// "down" can close the webhook's port):
//   POST /control {"mode":"ok|fail|rate_limit|stall","failFirst":N,"status":503,
//                  "retryAfterSeconds":1,"delayMs":50,"stallMs":60000,"failKeys":{"<key>":N}}
//   POST /down, POST /up      close / reopen the webhook's port
//   GET  /deliveries          every accepted delivery, in arrival order
//   GET  /stats               {"requests":N,"delivered":N,"distinctKeys":N,"duplicateDeliveries":N}
//   POST /reset               forget everything, behave normally (and be up)

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace paypipe::testing {

class FakeAnalytics {
 public:
  struct Behaviour {
    std::string mode = "ok";  // ok | fail | rate_limit | stall
    int fail_first = 0;       // the first N requests fail with `status`, then `mode` applies
    // Per Idempotency-Key: that key's first N requests fail with `status`.
    std::map<std::string, int> fail_keys{};
    int status = 503;
    int retry_after_seconds = 1;
    std::chrono::milliseconds delay{0};      // before every answer
    std::chrono::milliseconds stall{60000};  // mode stall: how long before answering
  };

  struct Delivery {
    std::string idempotency_key;
    std::string authorization;
    std::string content_type;
    std::string body;
    std::int64_t received_unix_ms = 0;
  };

  explicit FakeAnalytics(std::string path = "/webhook", std::uint16_t port = 0);
  ~FakeAnalytics();
  FakeAnalytics(const FakeAnalytics&) = delete;
  FakeAnalytics& operator=(const FakeAnalytics&) = delete;

  std::string url() const;  // http://127.0.0.1:<port><path>
  std::uint16_t port() const { return port_; }

  void set(Behaviour behaviour);  // also restarts the fail_first count
  void reset();                   // forget everything, mode ok, up
  // Down: the port refuses connections and open ones are cut. Up: listening again on
  // the same port.
  void set_down(bool down);

  std::vector<Delivery> delivered() const;               // accepted (2xx), in arrival order
  std::size_t requests() const;                          // every request on the wire
  std::size_t requests_for(const std::string& key) const;  // on the wire, with this Idempotency-Key
  std::size_t accepted_for(const std::string& key) const;  // answered 2xx, with this key
  std::size_t distinct_delivered() const;                // distinct keys accepted
  std::size_t duplicate_deliveries() const;              // accepted beyond the first per key

  struct Impl;

 private:
  void listen();

  std::string path_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paypipe::testing
