#pragma once
// The HTTP/1.1 server every daemon runs (Boost.Beast, C++20 coroutines, hidden here).
//
// Per connection, one coroutine: wait for the next request within idle_timeout, read
// it within read_timeout (a client trickling headers is cut off), reject bodies over
// body_limit with 413 before reading them, answer requests strictly in order, close on
// end of stream. Sync handlers run on `worker_threads`; async handlers answer through
// their Responder. Every answer carries the route's metrics.
//
// stop(grace): stops accepting, closes idle keep-alive connections, lets in-flight
// requests finish (answered with Connection: close), and forcibly closes what is left
// when `grace` runs out.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "http/router.hpp"

namespace paypipe::http {

struct ServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (see Server::port())
  int io_threads = 1;
  int worker_threads = 4;
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{10000};
  std::size_t max_connections = 10000;
  std::size_t max_requests_per_connection = 100000;
};

class Server {
 public:
  Server(ServerOptions options, Router router);
  ~Server();  // stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Fails (unavailable) if the port is taken.
  core::Status start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  void stop(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paypipe::http
