// HTTP limits on a real daemon (payment-api as a process): an over-limit body gets 413
// problem+json before it is read, a client trickling its headers is cut off after the
// read timeout, oversized headers are refused, and the daemon keeps serving others
// meanwhile. libs/http's server_test checks the same on an in-process server; these
// check the daemon's configuration reaches it.
#include <catch2/catch.hpp>

#include <thread>

#include "security_support.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
using namespace paypipe::testing::security;

namespace {

constexpr int body_limit = 4096;
constexpr auto read_timeout = 1000ms;

std::map<std::string, std::string> limits_env() {
  return {{"PAYPIPE_HTTP_BODY_LIMIT_BYTES", std::to_string(body_limit)},
          {"PAYPIPE_HTTP_READ_TIMEOUT_MS", std::to_string(read_timeout.count())}};
}

void send_all(int fd, const std::string& data) {
  REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
}

}  // namespace

TEST_CASE("an over-limit body gets 413 problem+json, also when the body is never sent") {
  testing::System system;
  testing::Daemon api(system, "payment-api", limits_env());
  api.wait_ready();

  // A body just over the limit, sent whole.
  const std::string big = R"({"amount":1,"pad":")" + std::string(body_limit, 'x') + "\"}";
  check_problem(api.post("/v1/wallets/u1/deposits", big, {{"Idempotency-Key", "k1"}, testing::deposit_credential()}),
                413);
  check_problem(api.post("/v1/payments", big, {{"Idempotency-Key", "k2"}, testing::bearer("u1")}), 413);

  // A Content-Length of 1 GB with no body at all: answered at once, not after reading.
  const int fd = connect_raw(api.port());
  const auto started = std::chrono::steady_clock::now();
  send_all(fd,
           "POST /v1/wallets/u1/deposits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Idempotency-Key: k3\r\nContent-Length: 1000000000\r\n\r\n");
  bool closed = false;
  const auto answer = read_until_closed(fd, 5s, closed);
  ::close(fd);
  INFO(answer);
  CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(answer.find("application/problem+json") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < read_timeout);

  // Just under the limit is read and handled (here: a 400 for the unknown member or a
  // 201; never a 413).
  const std::string fits = R"({"amount":1})";
  auto ok = api.post("/v1/wallets/u1/deposits", fits, {{"Idempotency-Key", "k4"}, testing::deposit_credential()});
  REQUIRE(ok.ok());
  CHECK(ok->status == 201);
  // Nothing of the refused requests was stored: the wallet holds only the last deposit.
  auto wallet = api.get("/v1/wallets/u1", {testing::bearer("u1")});
  REQUIRE(wallet.ok());
  REQUIRE(wallet->status == 200);
  CHECK(json_of(wallet->body)["balance"].GetInt64() == 1);
}

TEST_CASE("a client trickling its headers byte by byte is cut off after the read timeout; others are served") {
  testing::System system;
  testing::Daemon api(system, "payment-api", limits_env());
  api.wait_ready();

  const int fd = connect_raw(api.port());
  const auto started = std::chrono::steady_clock::now();
  const std::string head = "GET /v1/wallets/u1 HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool closed = false;
  std::string answer;
  std::size_t sent = 0;
  // One byte every 50 ms, for ever (the header never ends), until the daemon closes the
  // connection; the deadline is the read timeout plus generous slack.
  const auto deadline = started + read_timeout + 4s;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    const char c = sent < head.size() ? head[sent] : 'a';
    if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    ++sent;
    // Meanwhile another client is served at once.
    if (sent == 20) {
      auto other = api.get("/healthz");
      REQUIRE(other.ok());
      CHECK(other->status == 200);
    }
    answer += read_until_closed(fd, 50ms, closed);
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ::close(fd);
  INFO("sent " << sent << " bytes in " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
               << " ms; answer: " << answer);
  REQUIRE(closed);
  CHECK(elapsed >= read_timeout - 100ms);
  CHECK(elapsed < read_timeout + 3s);
  // If the daemon said anything, it was a timeout, not an answer to the request.
  CHECK((answer.empty() || answer.rfind("HTTP/1.1 408", 0) == 0));
  auto after = api.get("/healthz");
  REQUIRE(after.ok());
  CHECK(after->status == 200);
}

TEST_CASE("an idle connection that never sends a byte is closed after the idle timeout") {
  testing::System system;
  auto env = limits_env();
  env["PAYPIPE_HTTP_IDLE_TIMEOUT_MS"] = "1000";
  testing::Daemon api(system, "payment-api", env);
  api.wait_ready();
  const int fd = connect_raw(api.port());
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  read_until_closed(fd, 5s, closed);
  ::close(fd);
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - started < 4s);
}

TEST_CASE("headers over the header limit are refused with a 4xx and the connection is closed") {
  testing::System system;
  testing::Daemon api(system, "payment-api", limits_env());
  api.wait_ready();
  const int fd = connect_raw(api.port());
  const std::string request = "GET /v1/wallets/u1 HTTP/1.1\r\nHost: x\r\nX-Huge: " + std::string(64 * 1024, 'h') +
                              "\r\n\r\n";
  // The daemon may close before reading it all: a short send is fine.
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  bool closed = false;
  const auto answer = read_until_closed(fd, 5s, closed);
  ::close(fd);
  INFO(answer.substr(0, 300));
  CHECK(closed);
  CHECK((answer.empty() || answer.rfind("HTTP/1.1 4", 0) == 0));
  auto after = api.get("/healthz");
  REQUIRE(after.ok());
  CHECK(after->status == 200);
}
