#include "http/server.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "http/client.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

http::ServerOptions test_options() {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.body_limit = 1024;
  options.read_timeout = 300ms;
  options.idle_timeout = 2000ms;
  options.worker_threads = 2;
  return options;
}

http::Router test_router() {
  http::Router router;
  router.get("/hello/{name}", [](const http::Request& r) {
    return http::Response::json(200, "{\"hello\":\"" + std::string(r.param("name")) + "\",\"q\":\"" +
                                         std::string(r.query_param("q").value_or("")) + "\"}");
  });
  router.post("/echo", [](const http::Request& r) { return http::Response::text(200, r.body); });
  router.get("/throw", [](const http::Request&) -> http::Response { throw std::runtime_error("boom"); });
  router.get("/trace", [](const http::Request& r) { return http::Response::text(200, r.trace.trace_id); });
  router.get("/host", [](const http::Request& r) {
    return http::Response::text(200, std::string(r.header("host").value_or("")));
  });
  router.add_async("GET", "/async", [](http::Request, http::Responder respond) {
    std::thread([respond] {
      std::this_thread::sleep_for(20ms);
      respond(http::Response::json(202, R"({"async":true})"));
    }).detach();
  });
  router.add_async("GET", "/dropped", [](http::Request, http::Responder) {});
  return router;
}

// A raw TCP client, for what a well-behaved HTTP client would never do.
int connect_raw(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

TEST_CASE("server answers routes, params, queries, 404 and 405 over keep-alive") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  for (int i = 0; i < 5; ++i) {  // the same pooled connection, request after request
    auto r = client.send({"GET", base + "/hello/w%C3%B6rld?q=a+b", {}, "", {}});
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "{\"hello\":\"w\xC3\xB6rld\",\"q\":\"a b\"}");
  }
  auto missing = client.send({"GET", base + "/nope", {}, "", {}});
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(missing->header("content-type") == "application/problem+json");
  auto wrong = client.send({"DELETE", base + "/echo", {}, "", {}});
  REQUIRE(wrong.ok());
  CHECK(wrong->status == 405);
  CHECK(wrong->header("allow") == "POST");
}

TEST_CASE("the server routes on the path as sent: an escaped slash stays inside its segment") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  auto r = client.send({"GET", base + "/hello/a%2Fb", {}, "", {}});
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == R"({"hello":"a/b","q":""})");
  // A broken escape is a bad target (our client would not even send it).
  const int fd = connect_raw(server.port());
  const std::string raw = "GET /hello/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  REQUIRE(::write(fd, raw.data(), raw.size()) == static_cast<ssize_t>(raw.size()));
  CHECK(read_all(fd).rfind("HTTP/1.1 400", 0) == 0);
  ::close(fd);
}

TEST_CASE("the client reaches an IPv6 literal and names it in the Host header") {
  auto options = test_options();
  options.address = "::1";
  http::Server server(options, test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  const auto authority = "[::1]:" + std::to_string(server.port());
  auto r = client.send({"GET", "http://" + authority + "/host", {}, "", {}});
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == authority);
}

TEST_CASE("the client refuses URLs it cannot use") {
  http::Client client;
  for (const auto* url : {"ftp://example.com/", "http://user@127.0.0.1:1/", "http://", "not a url", "http://[::1/"}) {
    auto r = client.send({"GET", url, {}, "", {}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad-url");
  }
}

TEST_CASE("server turns handler exceptions and dropped responders into 500s") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  auto thrown = client.send({"GET", base + "/throw", {}, "", {}});
  REQUIRE(thrown.ok());
  CHECK(thrown->status == 500);
  CHECK(thrown->body.find("boom") == std::string::npos);
  auto dropped = client.send({"GET", base + "/dropped", {}, "", {}});
  REQUIRE(dropped.ok());
  CHECK(dropped->status == 500);
  auto async = client.send({"GET", base + "/async", {}, "", {}});
  REQUIRE(async.ok());
  CHECK(async->status == 202);
}

TEST_CASE("server continues the caller's trace") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  auto r = client.send({"GET",
                        "http://127.0.0.1:" + std::to_string(server.port()) + "/trace",
                        {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
                        "",
                        {}});
  REQUIRE(r.ok());
  CHECK(r->body == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("every answer names its trace: traceparent header, and traceId in problem bodies") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  const std::string caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  auto continued = client.send({"GET", base + "/hello/x", {{"traceparent", caller}}, "", {}});
  REQUIRE(continued.ok());
  const auto header = continued->header("traceparent");
  REQUIRE(header);
  const auto answered = core::TraceContext::parse(*header);
  REQUIRE(answered);
  CHECK(answered->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(answered->span_id != "00f067aa0ba902b7");  // the server's own span

  auto fresh = client.send({"GET", base + "/nope", {}, "", {}});  // no caller trace: a new one
  REQUIRE(fresh.ok());
  CHECK(fresh->status == 404);
  const auto fresh_header = fresh->header("traceparent");
  REQUIRE(fresh_header);
  const auto fresh_trace = core::TraceContext::parse(*fresh_header);
  REQUIRE(fresh_trace);
  auto body = core::json::parse(fresh->body);
  REQUIRE(body);
  REQUIRE(body->HasMember("traceId"));
  CHECK(std::string((*body)["traceId"].GetString()) == fresh_trace->trace_id);
  CHECK((*body)["status"].GetInt() == 404);

  auto thrown = client.send({"GET", base + "/throw", {{"traceparent", caller}}, "", {}});
  REQUIRE(thrown.ok());
  CHECK(thrown->status == 500);
  CHECK(thrown->body.find("\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"") != std::string::npos);
}

TEST_CASE("attach_trace adds traceId to a problem body once and leaves other bodies alone") {
  const auto trace = core::TraceContext::generate();
  auto problem = http::problem_response({400, "about:blank", "Bad Request", "bad", "bad", {}});
  http::attach_trace(problem, trace);
  http::attach_trace(problem, trace);
  auto parsed = core::json::parse(problem.body);
  REQUIRE(parsed);
  CHECK(std::string((*parsed)["traceId"].GetString()) == trace.trace_id);
  CHECK(problem.body.find("traceId") == problem.body.rfind("traceId"));
  auto empty = http::Response{400, "application/problem+json", "{}", {}};
  http::attach_trace(empty, trace);
  CHECK(empty.body == "{\"traceId\":\"" + trace.trace_id + "\"}");
  auto plain = http::Response::json(200, "{\"a\":1}");
  http::attach_trace(plain, trace);
  CHECK(plain.body == "{\"a\":1}");
}

TEST_CASE("an over-limit body gets 413 without being read") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  http::Client client;
  auto r = client.send({"POST",
                        "http://127.0.0.1:" + std::to_string(server.port()) + "/echo",
                        {{"content-type", "text/plain"}},
                        std::string(5000, 'x'),
                        {}});
  REQUIRE(r.ok());
  CHECK(r->status == 413);
  auto small = client.send({"POST", "http://127.0.0.1:" + std::to_string(server.port()) + "/echo", {}, "abc", {}});
  REQUIRE(small.ok());
  CHECK(small->body == "abc");
}

TEST_CASE("a client trickling its headers is cut off after the read timeout") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  const int fd = connect_raw(server.port());
  const std::string request = "GET /hello/slow HTTP/1.1\r\nHost: x\r\n";
  const auto started = std::chrono::steady_clock::now();
  bool cut_off = false;
  for (char c : request) {
    if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
      cut_off = true;
      break;
    }
    std::this_thread::sleep_for(40ms);
  }
  const auto answer = read_all(fd);  // the server answers 408 and closes
  ::close(fd);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK((cut_off || answer.find("408") != std::string::npos));
  CHECK(elapsed < 3s);
}

TEST_CASE("malformed requests get 400 and the connection closes") {
  http::Server server(test_options(), test_router());
  REQUIRE(server.start().ok());
  const int fd = connect_raw(server.port());
  const std::string garbage = "GET /x HTTP/9.9\r\n\r\n";
  REQUIRE(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(garbage.size()));
  const auto answer = read_all(fd);
  ::close(fd);
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("stop closes idle keep-alive connections at once and waits for in-flight requests") {
  auto router = test_router();
  std::atomic<bool> release{false};
  router.get("/slow", [&](const http::Request&) {
    while (!release) std::this_thread::sleep_for(5ms);
    return http::Response::json(200, R"({"slow":true})");
  });
  http::Server server(test_options(), std::move(router));
  REQUIRE(server.start().ok());
  http::Client client;
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  REQUIRE(client.send({"GET", base + "/hello/idle", {}, "", {}}).ok());  // leaves an idle connection

  http::Client slow_client;
  std::optional<core::Result<http::ClientResponse>> slow;
  std::thread caller([&] { slow = slow_client.send({"GET", base + "/slow", {}, "", {}}); });
  std::this_thread::sleep_for(100ms);
  std::thread releaser([&] {
    std::this_thread::sleep_for(200ms);
    release = true;
  });
  const auto started = std::chrono::steady_clock::now();
  server.stop(5s);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  caller.join();
  releaser.join();
  REQUIRE(slow.has_value());
  REQUIRE(slow->ok());
  CHECK((*slow)->status == 200);
  CHECK((*slow)->header("connection") == "close");
  CHECK(elapsed < 3s);  // did not wait for the idle connection's 2 s idle timeout... plus margin
}

TEST_CASE("client reports connection refused and timeouts as unavailable") {
  http::Client client(http::ClientOptions{std::chrono::milliseconds(500), std::chrono::milliseconds(300)});
  auto refused = client.send({"GET", "http://127.0.0.1:1/", {}, "", {}});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().category == core::ErrorCategory::unavailable);

  http::Router router;
  router.get("/stall", [](const http::Request&) {
    std::this_thread::sleep_for(1s);
    return http::Response::json(200, "{}");
  });
  http::Server server(test_options(), std::move(router));
  REQUIRE(server.start().ok());
  const auto started = std::chrono::steady_clock::now();
  auto stalled = client.send({"GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/stall", {}, "", {}});
  REQUIRE_FALSE(stalled.ok());
  CHECK(stalled.error().code == "http-timeout");
  CHECK(std::chrono::steady_clock::now() - started < 900ms);
  auto bad = client.send({"GET", "ftp://x/", {}, "", {}});
  CHECK(bad.error().category == core::ErrorCategory::invalid_input);
}

TEST_CASE("a stopped server refuses connections at once, cuts kept-alive ones, and its port can be bound again") {
  // The fake analytics webhook's "down" mode is a stop(0): it once left the port
  // listening (a client's connect succeeded and its request timed out) and bound, so that
  // "up" could not listen on it again.
  auto options = test_options();
  http::Server first(options, test_router());
  REQUIRE(first.start().ok());
  options.port = first.port();
  first.stop(0ms);
  for (int round = 0; round < 30; ++round) {
    INFO("round " << round);
    http::Server server(options, test_router());
    REQUIRE(server.start().ok());  // the port is free again
    const int kept = connect_raw(options.port);  // a kept-alive connection, idle at stop
    const std::string request = "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::write(kept, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    char buffer[512];
    REQUIRE(::read(kept, buffer, sizeof buffer) > 0);
    server.stop(0ms);
    // Refused, not accepted into a backlog nobody reads.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(options.port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    const int error = errno;
    ::close(fd);
    CHECK(connected != 0);
    CHECK(error == ECONNREFUSED);
    // The kept-alive connection was cut: end of stream (or reset), not silence.
    const auto n = ::read(kept, buffer, sizeof buffer);
    const int read_error = errno;
    CHECK((n == 0 || (n < 0 && read_error == ECONNRESET)));  // not EAGAIN: the 5 s receive timeout
    ::close(kept);
  }
}
