#pragma once
// A fake Telegram Bot API: a real HTTP server on loopback that answers
// POST /bot<token>/sendMessage like Telegram does, and can be told to fail, rate-limit
// (429 with Retry-After), answer slowly or stall. It records every attempt and every
// message it accepted, so a test can assert "exactly once".
//
// In-process (tests) through this class; standalone (bench, run-local) as the
// fake-telegram executable, driven over HTTP:
//   POST /control {"mode":"ok|fail|rate_limit|stall","failFirst":N,"failRate":0.1,"status":503,
//                  "retryAfterSeconds":1,"delayMs":50,"stallMs":60000,"rateLimitFirst":N}
//   GET  /messages   every accepted message, in arrival order
//   GET  /stats      {"attempts":N,"delivered":N}
//   POST /reset      forget everything, behave normally

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace paypipe::testing {

class FakeTelegram {
 public:
  struct Behaviour {
    std::string mode = "ok";  // ok | fail | rate_limit | stall
    int fail_first = 0;       // the first N attempts fail with `status`, then `mode` applies
    double fail_rate = 0.0;   // each attempt fails with this probability
    int status = 503;
    int retry_after_seconds = 1;
    std::chrono::milliseconds delay{0};      // before every answer
    std::chrono::milliseconds stall{60000};  // mode stall: how long before answering
    // After fail_first: the next N attempts answer 429 with Retry-After, then `mode` applies.
    int rate_limit_first = 0;
  };

  struct Message {
    std::string chat_id;
    std::string text;
    std::int64_t received_unix_ms = 0;
  };

  // Every sendMessage attempt with a valid token and body, answered or not.
  struct Attempt {
    std::string chat_id;
    std::string text;
    int status = 0;  // what it was answered
    std::int64_t received_unix_ms = 0;
  };

  explicit FakeTelegram(std::string token = "123456:TEST", std::uint16_t port = 0);
  ~FakeTelegram();

  std::string base_url() const;  // http://127.0.0.1:<port>
  std::uint16_t port() const;
  const std::string& token() const { return token_; }

  void set(Behaviour behaviour);
  void reset();
  std::vector<Message> delivered() const;
  std::size_t attempts() const;
  std::vector<Attempt> attempt_log() const;

  struct Impl;

 private:
  std::string token_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paypipe::testing
