#pragma once
// An HTTP(S)/1.1 client for calls to the outside world (Telegram, the analytics
// webhook) and for tests. Keeps idle keep-alive connections per host.
//
// Every call is bounded: connect_timeout for the TCP connect (and TLS handshake), and
// the request's timeout (default request_timeout) for the whole exchange; a response
// body over max_response_body is an error. Errors are core::Error with category
// `unavailable` or `invalid_input` (bad-url). The `unavailable` codes say whether the
// request may have reached the server: http-connect (resolve, connect or its timeout:
// nothing was sent) or http-timeout / http-io (after the connection was made: maybe).
// An HTTP error status is NOT an Error: the caller reads ClientResponse::status.
//
// Resending: a pooled keep-alive connection that the server closed while idle is
// noticed and dropped before use. If an exchange on a reused connection still fails
// before any byte of the answer, the request is sent again on a fresh connection only
// if nothing of it was written or its method is idempotent (GET, HEAD, PUT, DELETE,
// OPTIONS, TRACE). A POST or PATCH that may have reached the server is never resent
// here: the caller gets the error (http-io, or http-timeout) and treats it as "maybe
// done".
//
// Threading: the client runs its own I/O thread. send() blocks the calling thread and
// must not be called from a completion callback; async_send's callback runs on the
// client's I/O thread and must not block.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/http.hpp"

namespace paypipe::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  std::size_t max_response_body = 1 << 20;
  std::size_t max_idle_per_host = 64;
  bool verify_tls = true;
  std::string user_agent = "paypipe/0.1";
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query or https://...
  std::vector<Header> headers;
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  // overrides request_timeout
};

struct ClientResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const;
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  core::Result<ClientResponse> send(ClientRequest request);
  void async_send(ClientRequest request, std::function<void(core::Result<ClientResponse>)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paypipe::http
