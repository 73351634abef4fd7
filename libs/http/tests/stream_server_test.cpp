// Live-update streams through the real server on loopback: SSE frames and heartbeats
// reach a client, and a client that stops reading is cut while another keeps receiving
// every update (the stuck write is ended, not waited out).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

#include "http/server.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// A user's updates in memory; the hub reads them inline.
struct Feed {
  std::mutex mutex;
  std::vector<http::StreamEvent> rows;

  void add(std::size_t bytes) {
    std::lock_guard lock(mutex);
    rows.push_back({static_cast<std::int64_t>(rows.size()) + 1, "test", "\"" + std::string(bytes, 'x') + "\""});
  }
  http::UpdateReader reader() {
    return [this](const std::vector<http::UpdateRead>& reads,
                  std::size_t limit) -> core::Result<std::vector<std::vector<http::StreamEvent>>> {
      std::lock_guard lock(mutex);
      std::vector<std::vector<http::StreamEvent>> out;
      for (const auto& read : reads) {
        auto& theirs = out.emplace_back();
        if (read.after < 0) {
          if (!rows.empty()) theirs.push_back(rows.back());
          continue;
        }
        for (const auto& row : rows) {
          if (row.id > read.after && theirs.size() < limit) theirs.push_back(row);
        }
      }
      return out;
    };
  }
};

int connect_to(std::uint16_t port, int receive_buffer = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  const std::string head = "GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
  REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  return fd;
}

// Reads into `text` until `done(text)` or the deadline; false on timeout or close.
bool read_until(int fd, std::string& text, const std::function<bool(const std::string&)>& done,
                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(text)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[65536];
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return done(text);
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

struct StreamServer {
  Feed feed;
  std::shared_ptr<http::StreamHub> hub;
  std::unique_ptr<http::Server> server;

  explicit StreamServer(http::StreamLimits limits, std::chrono::milliseconds write_timeout = 30000ms) {
    hub = http::StreamHub::create(limits, feed.reader(), [](std::function<void()> task) { task(); });
    http::Router router;
    router.stream("/stream", [this](const http::Request&) {
      http::StreamAccept accept;
      accept.heartbeat = hub->limits().heartbeat;
      auto connection = hub->open("u", -1);
      if (connection) accept.connection = *connection;
      else accept.refusal = http::error_response(connection.error());
      return accept;
    });
    http::ServerOptions options;
    options.port = 0;
    options.write_timeout = write_timeout;  // the cut must not wait for this
    server = std::make_unique<http::Server>(options, std::move(router));
    REQUIRE(server->start().ok());
  }
  ~StreamServer() { server->stop(1000ms); }
};

}  // namespace

TEST_CASE("an SSE stream gets each update as id/event/data and heartbeats between") {
  http::StreamLimits limits;
  limits.heartbeat = 100ms;
  StreamServer s(limits);
  const int fd = connect_to(s.server->port());
  std::string text;
  REQUIRE(read_until(fd, text, [](const std::string& t) { return t.find(": open\n\n") != std::string::npos; }, 5s));
  CHECK(text.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(text.find("text/event-stream") != std::string::npos);
  s.feed.add(3);
  s.hub->notify("u");
  REQUIRE(
      read_until(fd, text, [](const std::string& t) { return t.find("data: \"xxx\"\n\n") != std::string::npos; }, 5s));
  CHECK(text.find("id: 1\nevent: test\n") != std::string::npos);
  REQUIRE(
      read_until(fd, text, [](const std::string& t) { return t.find(": heartbeat\n\n") != std::string::npos; }, 5s));
  ::close(fd);
  // The server reads the socket: a client that leaves frees its place at once.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (s.hub->connections() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  CHECK(s.hub->connections() == 0);
}

TEST_CASE("a client that stops reading is cut; the other stream gets every update") {
  http::StreamLimits limits;
  limits.buffer_bytes = 64 * 1024;
  StreamServer s(limits);
  const int slow = connect_to(s.server->port(), 4096);
  const int quick = connect_to(s.server->port());
  std::string slow_text;
  std::string quick_text;
  auto opened = [](const std::string& t) { return t.find(": open\n\n") != std::string::npos; };
  REQUIRE(read_until(slow, slow_text, opened, 5s));
  REQUIRE(read_until(quick, quick_text, opened, 5s));

  // 600 x 16 KiB: far more than both sockets' buffers and the bound together.
  constexpr std::size_t updates = 600;
  std::size_t received = 0;
  auto arrived = [&](const std::string& t) {  // counts whole frames, then forgets them
    const auto end = t.rfind("\n\n");
    if (end == std::string::npos) return false;
    received += count(t.substr(0, end), "event: test");
    quick_text.erase(0, end + 2);
    return true;
  };
  for (std::size_t i = 0; i < updates; ++i) {
    s.feed.add(16 * 1024);
    s.hub->notify("u");
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (received <= i && std::chrono::steady_clock::now() < deadline) {
      (void)read_until(quick, quick_text, arrived, 1s);
    }
  }
  CHECK(received == updates);
  // The slow one was cut (its socket closed by the server), without waiting out the write timeout.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (s.hub->connections() != 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  CHECK(s.hub->connections() == 1);
  ::close(slow);
  ::close(quick);
}

TEST_CASE("an SSE stream outlives heartbeat + write timeout: the bound is on writes, not on the client's silence") {
  http::StreamLimits limits;
  limits.heartbeat = 100ms;
  StreamServer s(limits, 200ms);
  const int fd = connect_to(s.server->port());
  std::string text;
  REQUIRE(read_until(fd, text, [](const std::string& t) { return t.find(": open\n\n") != std::string::npos; }, 5s));
  // Ten times heartbeat + write timeout, the client sending nothing (as SSE clients do).
  (void)read_until(fd, text, [](const std::string&) { return false; }, 3000ms);
  CHECK(s.hub->connections() == 1);
  CHECK(count(text, ": heartbeat\n\n") >= 10);
  s.feed.add(3);
  s.hub->notify("u");
  CHECK(
      read_until(fd, text, [](const std::string& t) { return t.find("data: \"xxx\"\n\n") != std::string::npos; }, 5s));
  ::close(fd);
}
