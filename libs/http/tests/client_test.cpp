// The client's resend rule, against a raw loopback server that misbehaves on purpose:
// a request whose bytes may have reached the server is never sent a second time unless
// its method is idempotent.
#include "http/client.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// Accepts connections one at a time and reads requests (headers + Content-Length body).
// For the n-th request it has read in all (1-based), `script(n)` says what to do:
// answer 200 and keep the connection, or close the connection without answering.
class ScriptedServer {
 public:
  enum class Action { answer, close };

  explicit ScriptedServer(std::function<Action(int)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    {
      std::lock_guard lock(mutex_);
      for (int c : open_) ::shutdown(c, SHUT_RDWR);
    }
    if (thread_.joinable()) thread_.join();
  }

  std::string url(const std::string& path = "/x") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int requests() const { return requests_; }
  int connections() const { return connections_; }

  // Closes every connection the server holds (as an idle timeout would), and waits until
  // they are closed.
  void close_idle() {
    std::unique_lock lock(mutex_);
    for (int c : open_) ::shutdown(c, SHUT_RDWR);
    changed_.wait_for(lock, 5s, [this] { return open_.empty(); });
  }

 private:
  void run() {
    while (!stopping_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      {
        std::lock_guard lock(mutex_);
        open_.push_back(c);
      }
      serve(c);
      {
        std::lock_guard lock(mutex_);
        open_.erase(std::find(open_.begin(), open_.end(), c));
      }
      ::close(c);
      changed_.notify_all();
    }
  }

  // Serves one connection until it is closed (by either side).
  void serve(int c) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      std::size_t end;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const auto n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      std::size_t body = 0;
      const auto at = buffer.find("Content-Length: ");
      if (at != std::string::npos && at < end) body = std::stoul(buffer.substr(at + 16));
      while (buffer.size() < end + 4 + body) {
        const auto n = ::read(c, chunk, sizeof chunk);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      buffer.erase(0, end + 4 + body);
      const int nth = ++requests_;
      if (script_(nth) == Action::close) return;
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
      if (::write(c, answer.data(), answer.size()) != static_cast<ssize_t>(answer.size())) return;
    }
  }

  std::function<Action(int)> script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> open_;
  std::thread thread_;
};

http::ClientRequest request(const std::string& method, const std::string& url) {
  http::ClientRequest r;
  r.method = method;
  r.url = url;
  r.body = method == "GET" ? "" : R"({"text":"hello"})";
  if (!r.body.empty()) r.headers = {{"Content-Type", "application/json"}};
  return r;
}

}  // namespace

TEST_CASE("a POST on a reused connection that fails after the request was written is not sent again") {
  // Request 1 answered (the connection goes to the pool); request 2 read, then the
  // connection closed without an answer, as a server that crashed after reading it.
  ScriptedServer server([](int n) { return n == 2 ? ScriptedServer::Action::close : ScriptedServer::Action::answer; });
  http::Client client(http::ClientOptions{1000ms, 2000ms});
  auto first = client.send(request("POST", server.url()));
  REQUIRE(first.ok());
  REQUIRE(first->status == 200);
  auto second = client.send(request("POST", server.url()));
  CHECK_FALSE(second.ok());
  CHECK(second.error().category == core::ErrorCategory::unavailable);
  CHECK(server.requests() == 2);  // the server saw the second POST once: no blind resend
  CHECK(server.connections() == 1);
}

TEST_CASE("a PATCH is not resent either; a GET (idempotent) is, on a fresh connection") {
  {
    ScriptedServer server(
        [](int n) { return n == 2 ? ScriptedServer::Action::close : ScriptedServer::Action::answer; });
    http::Client client(http::ClientOptions{1000ms, 2000ms});
    REQUIRE(client.send(request("PATCH", server.url())).ok());
    CHECK_FALSE(client.send(request("PATCH", server.url())).ok());
    CHECK(server.requests() == 2);
  }
  {
    ScriptedServer server(
        [](int n) { return n == 2 ? ScriptedServer::Action::close : ScriptedServer::Action::answer; });
    http::Client client(http::ClientOptions{1000ms, 2000ms});
    REQUIRE(client.send(request("GET", server.url())).ok());
    auto again = client.send(request("GET", server.url()));
    REQUIRE(again.ok());
    CHECK(again->status == 200);
    CHECK(server.requests() == 3);  // read, dropped, read again on a fresh connection
    CHECK(server.connections() == 2);
  }
}

TEST_CASE("a pooled connection the server closed while idle is not used: the POST goes out once, and succeeds") {
  ScriptedServer server([](int) { return ScriptedServer::Action::answer; });
  http::Client client(http::ClientOptions{1000ms, 2000ms});
  REQUIRE(client.send(request("POST", server.url())).ok());
  server.close_idle();  // the keep-alive connection in the client's pool is now dead
  auto second = client.send(request("POST", server.url()));
  REQUIRE(second.ok());
  CHECK(second->status == 200);
  CHECK(server.requests() == 2);
  CHECK(server.connections() == 2);
}
