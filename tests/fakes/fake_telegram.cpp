#include "fakes/fake_telegram.hpp"

#include <condition_variable>
#include <queue>
#include <random>
#include <thread>

#include "core/json.hpp"
#include "core/time.hpp"
#include "fakes/delayed_answers.hpp"
#include "http/server.hpp"

namespace paypipe::testing {

struct FakeTelegram::Impl {
  // The server first: members go in reverse order, so `delayed` (holding answers that
  // belong to the server's connections) goes before it.
  std::unique_ptr<http::Server> server;
  mutable std::mutex mutex;
  Behaviour behaviour;
  std::vector<Message> messages;
  std::vector<Attempt> attempt_log;
  std::size_t attempts = 0;
  std::int64_t next_message_id = 1;
  std::mt19937 rng{12345};
  DelayedAnswers delayed;

  http::Response answer(const std::string& token, const std::string& expected_token, const std::string& body) {
    if (token != expected_token) {
      return http::Response::json(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})");
    }
    auto doc = core::json::parse(body);
    if (!doc || !doc->IsObject() || !doc->HasMember("chat_id") || !doc->HasMember("text") ||
        !(*doc)["text"].IsString()) {
      return http::Response::json(
          400, R"({"ok":false,"error_code":400,"description":"Bad Request: message text is empty"})");
    }
    const auto& chat = (*doc)["chat_id"];
    const std::string chat_id = chat.IsString() ? chat.GetString() : std::to_string(chat.GetInt64());
    std::lock_guard lock(mutex);
    ++attempts;
    const std::string text_sent = (*doc)["text"].GetString();
    attempt_log.push_back(Attempt{chat_id, text_sent, 0, core::to_unix_ms(core::now_ms())});
    auto response = answer_attempt(chat_id, text_sent);
    attempt_log.back().status = response.status;
    return response;
  }

  // Under `mutex`.
  http::Response answer_attempt(const std::string& chat_id, const std::string& text) {
    const bool fail_now = static_cast<int>(attempts) <= behaviour.fail_first ||
                          std::uniform_real_distribution<double>(0, 1)(rng) < behaviour.fail_rate ||
                          behaviour.mode == "fail";
    if (fail_now) {
      return http::Response::json(behaviour.status, "{\"ok\":false,\"error_code\":" + std::to_string(behaviour.status) +
                                                        ",\"description\":\"Internal Server Error\"}");
    }
    const bool limit_now = static_cast<int>(attempts) <= behaviour.fail_first + behaviour.rate_limit_first;
    if (behaviour.mode == "rate_limit" || limit_now) {
      auto r = http::Response::json(
          429, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after " +
                   std::to_string(behaviour.retry_after_seconds) +
                   "\",\"parameters\":{\"retry_after\":" + std::to_string(behaviour.retry_after_seconds) + "}}");
      r.headers.push_back({"Retry-After", std::to_string(behaviour.retry_after_seconds)});
      return r;
    }
    messages.push_back(Message{chat_id, text, core::to_unix_ms(core::now_ms())});
    core::json::Writer w;
    w.begin_object().field("ok", true).begin_object("result").field("message_id", next_message_id++);
    w.begin_object("chat").field("id", chat_id).end_object().field("text", text).end_object().end_object();
    return http::Response::json(200, w.take());
  }

  std::chrono::milliseconds answer_delay() {
    std::lock_guard lock(mutex);
    return behaviour.mode == "stall" ? behaviour.stall : behaviour.delay;
  }
};

FakeTelegram::FakeTelegram(std::string token, std::uint16_t port)
    : token_(std::move(token)), impl_(std::make_unique<Impl>()) {
  http::Router router;
  auto* impl = impl_.get();
  const std::string expected = token_;
  router.add_async("POST", "/{bot}/sendMessage", [impl, expected](http::Request request, http::Responder respond) {
    std::string bot(request.param("bot"));
    const std::string token = bot.rfind("bot", 0) == 0 ? bot.substr(3) : "";
    const auto delay = impl->answer_delay();
    auto response = impl->answer(token, expected, request.body);
    impl->delayed.answer_after(delay, std::move(respond), std::move(response));
  });
  router.post("/control", [impl](const http::Request& request) {
    auto doc = core::json::parse(request.body);
    if (!doc || !doc->IsObject()) return http::Response::json(400, R"({"error":"bad json"})");
    Behaviour b;
    auto& d = *doc;
    if (d.HasMember("mode") && d["mode"].IsString()) b.mode = d["mode"].GetString();
    if (d.HasMember("failFirst") && d["failFirst"].IsInt()) b.fail_first = d["failFirst"].GetInt();
    if (d.HasMember("failRate") && d["failRate"].IsNumber()) b.fail_rate = d["failRate"].GetDouble();
    if (d.HasMember("status") && d["status"].IsInt()) b.status = d["status"].GetInt();
    if (d.HasMember("retryAfterSeconds") && d["retryAfterSeconds"].IsInt())
      b.retry_after_seconds = d["retryAfterSeconds"].GetInt();
    if (d.HasMember("delayMs") && d["delayMs"].IsInt()) b.delay = std::chrono::milliseconds(d["delayMs"].GetInt());
    if (d.HasMember("stallMs") && d["stallMs"].IsInt()) b.stall = std::chrono::milliseconds(d["stallMs"].GetInt());
    if (d.HasMember("rateLimitFirst") && d["rateLimitFirst"].IsInt()) b.rate_limit_first = d["rateLimitFirst"].GetInt();
    std::lock_guard lock(impl->mutex);
    impl->behaviour = b;
    impl->attempts = 0;
    return http::Response::json(200, R"({"ok":true})");
  });
  router.post("/reset", [impl](const http::Request&) {
    std::lock_guard lock(impl->mutex);
    impl->behaviour = Behaviour{};
    impl->messages.clear();
    impl->attempt_log.clear();
    impl->attempts = 0;
    return http::Response::json(200, R"({"ok":true})");
  });
  router.get("/messages", [impl](const http::Request&) {
    core::json::Writer w;
    w.begin_array();
    std::lock_guard lock(impl->mutex);
    for (const auto& m : impl->messages) {
      w.begin_object()
          .field("chatId", m.chat_id)
          .field("text", m.text)
          .field("receivedAt", m.received_unix_ms)
          .end_object();
    }
    w.end_array();
    return http::Response::json(200, w.take());
  });
  router.get("/stats", [impl](const http::Request&) {
    std::lock_guard lock(impl->mutex);
    return http::Response::json(200, "{\"attempts\":" + std::to_string(impl->attempts) +
                                         ",\"delivered\":" + std::to_string(impl->messages.size()) + "}");
  });
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = port;
  options.worker_threads = 2;
  options.io_threads = 1;
  options.body_limit = 1 << 20;
  options.max_connections = 20000;
  impl_->server = std::make_unique<http::Server>(options, std::move(router));
  if (auto s = impl_->server->start(); !s) throw std::runtime_error(s.error().message);
}

FakeTelegram::~FakeTelegram() {
  impl_->delayed.stop();
  impl_->server->stop(std::chrono::milliseconds(0));
}

std::string FakeTelegram::base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }
std::uint16_t FakeTelegram::port() const { return impl_->server->port(); }

void FakeTelegram::set(Behaviour behaviour) {
  std::lock_guard lock(impl_->mutex);
  impl_->behaviour = std::move(behaviour);
  impl_->attempts = 0;
}

void FakeTelegram::reset() {
  std::lock_guard lock(impl_->mutex);
  impl_->behaviour = Behaviour{};
  impl_->messages.clear();
  impl_->attempt_log.clear();
  impl_->attempts = 0;
}

std::vector<FakeTelegram::Message> FakeTelegram::delivered() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

std::vector<FakeTelegram::Attempt> FakeTelegram::attempt_log() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->attempt_log;
}

std::size_t FakeTelegram::attempts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->attempts;
}

}  // namespace paypipe::testing
