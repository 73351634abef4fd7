// fake-analytics --port N [--control-port M] [--path /webhook]: the fake analytics
// webhook as a process, for the benchmark and the local run. The webhook listens on
// --port; the control API (see fake_analytics.hpp) on --control-port, so that "down"
// can close the webhook's port while the control port stays up.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/json.hpp"
#include "fakes/fake_analytics.hpp"
#include "http/server.hpp"

using namespace paypipe;

namespace {

http::Router control_routes(testing::FakeAnalytics& fake) {
  http::Router router;
  router.post("/control", [&fake](const http::Request& request) {
    auto doc = core::json::parse(request.body);
    if (!doc || !doc->IsObject()) return http::Response::json(400, R"({"error":"bad json"})");
    testing::FakeAnalytics::Behaviour b;
    const auto& d = *doc;
    if (d.HasMember("mode") && d["mode"].IsString()) b.mode = d["mode"].GetString();
    if (d.HasMember("failFirst") && d["failFirst"].IsInt()) b.fail_first = d["failFirst"].GetInt();
    if (d.HasMember("status") && d["status"].IsInt()) b.status = d["status"].GetInt();
    if (d.HasMember("retryAfterSeconds") && d["retryAfterSeconds"].IsInt()) {
      b.retry_after_seconds = d["retryAfterSeconds"].GetInt();
    }
    if (d.HasMember("delayMs") && d["delayMs"].IsInt()) b.delay = std::chrono::milliseconds(d["delayMs"].GetInt());
    if (d.HasMember("stallMs") && d["stallMs"].IsInt()) b.stall = std::chrono::milliseconds(d["stallMs"].GetInt());
    if (d.HasMember("failKeys") && d["failKeys"].IsObject()) {
      for (const auto& m : d["failKeys"].GetObject()) {
        if (m.value.IsInt()) b.fail_keys[m.name.GetString()] = m.value.GetInt();
      }
    }
    fake.set(b);
    return http::Response::json(200, R"({"ok":true})");
  });
  router.post("/down", [&fake](const http::Request&) {
    fake.set_down(true);
    return http::Response::json(200, R"({"ok":true})");
  });
  router.post("/up", [&fake](const http::Request&) {
    fake.set_down(false);
    return http::Response::json(200, R"({"ok":true})");
  });
  router.post("/reset", [&fake](const http::Request&) {
    fake.reset();
    return http::Response::json(200, R"({"ok":true})");
  });
  router.get("/deliveries", [&fake](const http::Request&) {
    core::json::Writer w;
    w.begin_array();
    for (const auto& d : fake.delivered()) {
      w.begin_object()
          .field("idempotencyKey", d.idempotency_key)
          .field("contentType", d.content_type)
          .field("receivedAt", d.received_unix_ms)
          .raw_field("body", core::json::parse(d.body).ok() ? d.body : core::json::quote(d.body))
          .end_object();
    }
    w.end_array();
    return http::Response::json(200, w.take());
  });
  router.get("/stats", [&fake](const http::Request&) {
    core::json::Writer w;
    w.begin_object()
        .field("requests", static_cast<std::int64_t>(fake.requests()))
        .field("delivered", static_cast<std::int64_t>(fake.delivered().size()))
        .field("distinctKeys", static_cast<std::int64_t>(fake.distinct_delivered()))
        .field("duplicateDeliveries", static_cast<std::int64_t>(fake.duplicate_deliveries()))
        .end_object();
    return http::Response::json(200, w.take());
  });
  return router;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0, control_port = 0;
  std::string path = "/webhook";
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--port") port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    if (arg == "--control-port") control_port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    if (arg == "--path") path = argv[i + 1];
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  testing::FakeAnalytics fake(path, port);
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = control_port;
  options.worker_threads = 1;
  http::Server control(options, control_routes(fake));
  if (auto s = control.start(); !s) {
    std::cerr << "fake-analytics: " << s.error().message << std::endl;
    return 1;
  }
  std::cout << "fake-analytics listening on " << fake.url() << ", control on http://127.0.0.1:" << control.port()
            << std::endl;
  int signal_number = 0;
  sigwait(&set, &signal_number);
  control.stop(std::chrono::milliseconds(0));
  return 0;
}
