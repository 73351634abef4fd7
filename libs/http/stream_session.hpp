#pragma once
// Private to libs/http: serves an accepted live-update stream on a connection the server
// has read a request from (stream_session.cpp, its own translation unit so Beast's
// WebSocket compiles beside the server, not inside it).

#include <atomic>
#include <functional>

#include "http/asio_prelude.hpp"
#include "http/router.hpp"

namespace paypipe::http::detail {

struct StreamSessionOptions {
  std::chrono::milliseconds write_timeout{10000};
  const std::atomic<bool>* stopping = nullptr;
};

// Streams `accept.connection` as SSE, or as WebSocket messages if `message` asks for an
// upgrade, until the client goes, the hub cuts the connection or the server stops.
// While it runs, `interrupt` (called on the connection's strand) ends it: the server's
// shutdown. Releases the hub's connection at the end.
asio::awaitable<void> serve_stream(beast::tcp_stream& stream, bh::request<bh::string_body>& message,
                                   StreamAccept accept, StreamSessionOptions options, std::function<void()>& interrupt);

}  // namespace paypipe::http::detail
