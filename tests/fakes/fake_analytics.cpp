#include "fakes/fake_analytics.hpp"

#include <mutex>

#include "core/time.hpp"
#include "fakes/delayed_answers.hpp"
#include "http/server.hpp"

namespace paypipe::testing {

struct FakeAnalytics::Impl {
  // Servers first: members go in reverse order, so `delayed` (holding answers that
  // belong to these servers' connections) goes before them.
  std::mutex server_mutex;  // guards `server` and `stopped` (set_down from a test thread)
  std::unique_ptr<http::Server> server;
  std::vector<std::unique_ptr<http::Server>> stopped;  // kept until the end: late answers post to them
  mutable std::mutex mutex;
  Behaviour behaviour;
  std::size_t requests_since_set = 0;  // what fail_first counts
  std::map<std::string, std::size_t> requests_by_key;
  std::map<std::string, std::size_t> accepted_by_key;
  std::vector<Delivery> deliveries;
  DelayedAnswers delayed;

  // Decides the answer and records the request; the caller sends it after `delay`.
  std::pair<http::Response, std::chrono::milliseconds> answer(const http::Request& request) {
    const std::string key(request.header("idempotency-key").value_or(""));
    std::lock_guard lock(mutex);
    ++requests_since_set;
    const std::size_t nth_for_key = ++requests_by_key[key];
    const auto delay = behaviour.mode == "stall" ? behaviour.stall : behaviour.delay;
    const auto failing_key = behaviour.fail_keys.find(key);
    const bool fail_now = static_cast<int>(requests_since_set) <= behaviour.fail_first || behaviour.mode == "fail" ||
                          (failing_key != behaviour.fail_keys.end() &&
                           static_cast<int>(nth_for_key) <= failing_key->second);
    if (fail_now) {
      return {http::Response::json(behaviour.status, R"({"error":"failing as told"})"), delay};
    }
    if (behaviour.mode == "rate_limit") {
      auto r = http::Response::json(429, R"({"error":"slow down"})");
      r.headers.push_back({"Retry-After", std::to_string(behaviour.retry_after_seconds)});
      return {r, delay};
    }
    if (key.empty()) return {http::Response::json(400, R"({"error":"Idempotency-Key required"})"), delay};
    ++accepted_by_key[key];
    deliveries.push_back(Delivery{key, std::string(request.header("authorization").value_or("")),
                                  std::string(request.header("content-type").value_or("")), request.body,
                                  core::to_unix_ms(core::now_ms())});
    return {http::Response::json(accepted_by_key[key] == 1 ? 202 : 200, R"({"accepted":true})"), delay};
  }
};

FakeAnalytics::FakeAnalytics(std::string path, std::uint16_t port)
    : path_(std::move(path)), port_(port), impl_(std::make_unique<Impl>()) {
  listen();
}

FakeAnalytics::~FakeAnalytics() {
  impl_->delayed.stop();
  std::lock_guard lock(impl_->server_mutex);
  if (impl_->server) impl_->server->stop(std::chrono::milliseconds(0));
}

void FakeAnalytics::listen() {
  http::Router router;
  auto* impl = impl_.get();
  router.add_async("POST", path_, [impl](http::Request request, http::Responder respond) {
    auto [response, delay] = impl->answer(request);
    impl->delayed.answer_after(delay, std::move(respond), std::move(response));
  });
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = port_;  // 0 the first time; then the same port again
  options.worker_threads = 1;
  options.io_threads = 1;
  options.body_limit = 1 << 20;
  options.max_connections = 20000;
  auto server = std::make_unique<http::Server>(options, std::move(router));
  if (auto s = server->start(); !s) throw std::runtime_error("fake analytics: " + s.error().message);
  port_ = server->port();
  impl_->server = std::move(server);
}

std::string FakeAnalytics::url() const { return "http://127.0.0.1:" + std::to_string(port_) + path_; }

void FakeAnalytics::set(Behaviour behaviour) {
  std::lock_guard lock(impl_->mutex);
  impl_->behaviour = std::move(behaviour);
  impl_->requests_since_set = 0;
}

void FakeAnalytics::reset() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->behaviour = Behaviour{};
    impl_->requests_since_set = 0;
    impl_->requests_by_key.clear();
    impl_->accepted_by_key.clear();
    impl_->deliveries.clear();
  }
  set_down(false);
}

void FakeAnalytics::set_down(bool down) {
  std::lock_guard lock(impl_->server_mutex);
  if (down && impl_->server) {
    impl_->server->stop(std::chrono::milliseconds(0));
    impl_->stopped.push_back(std::move(impl_->server));
  } else if (!down && !impl_->server) {
    listen();
  }
}

std::vector<FakeAnalytics::Delivery> FakeAnalytics::delivered() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->deliveries;
}

std::size_t FakeAnalytics::requests() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t total = 0;
  for (const auto& [key, n] : impl_->requests_by_key) total += n;
  return total;
}

std::size_t FakeAnalytics::requests_for(const std::string& key) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->requests_by_key.find(key);
  return it == impl_->requests_by_key.end() ? 0 : it->second;
}

std::size_t FakeAnalytics::accepted_for(const std::string& key) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->accepted_by_key.find(key);
  return it == impl_->accepted_by_key.end() ? 0 : it->second;
}

std::size_t FakeAnalytics::distinct_delivered() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted_by_key.size();
}

std::size_t FakeAnalytics::duplicate_deliveries() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->deliveries.size() - impl_->accepted_by_key.size();
}

}  // namespace paypipe::testing
