#include "http/stream_session.hpp"

#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

namespace paypipe::http::detail {

namespace websocket = boost::beast::websocket;

namespace {

// What the hub's waker, the client reader and the writer loop share; all touched on the
// connection's strand only (the waker posts there).
struct Wakeup {
  explicit Wakeup(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool client_gone = false;
  bool reader_running = false;
  bool interrupted = false;
  std::array<char, 64> sink{};  // what an SSE client sends is read and dropped
};

// Waits until woken or `heartbeat` passes. False: the heartbeat is due.
asio::awaitable<bool> wait(Wakeup& wakeup, const StreamConnection& connection, std::chrono::milliseconds heartbeat) {
  if (connection.buffered_bytes() > 0 || connection.cut() || wakeup.client_gone || wakeup.interrupted) co_return true;
  wakeup.timer.expires_after(heartbeat);
  auto [ec] = co_await wakeup.timer.async_wait(use_tuple);
  co_return static_cast<bool>(ec);  // cancelled: woken
}

// Ends when the reader coroutine has returned (it references the stream).
asio::awaitable<void> join_reader(Wakeup& wakeup) {
  while (wakeup.reader_running) {
    wakeup.timer.expires_after(std::chrono::milliseconds(100));
    (void)co_await wakeup.timer.async_wait(use_tuple);
  }
}

// Reads until an SSE client leaves (it sends nothing, so a read failing means it left),
// then wakes the writer. The stream outlives it: the writer joins it (join_reader)
// before the stream goes. A completion handler, not a coroutine: an idle stream then
// holds one small pending read instead of a second coroutine stack.
void read_until_sse_client_leaves(beast::tcp_stream& stream, std::shared_ptr<Wakeup> wakeup) {
  auto* sink = wakeup->sink.data();
  const auto size = wakeup->sink.size();
  stream.async_read_some(asio::buffer(sink, size),
                         [&stream, wakeup = std::move(wakeup)](beast::error_code ec, std::size_t) mutable {
                           if (!ec) return read_until_sse_client_leaves(stream, std::move(wakeup));
                           wakeup->client_gone = true;
                           wakeup->reader_running = false;
                           wakeup->timer.cancel();
                         });
}

// Reads what a WebSocket client sends: control frames (pong, close) are handled inside
// Beast; messages are ignored (the resume token is the URL's lastEventId). Joined the
// same way.
asio::awaitable<void> read_until_websocket_client_leaves(websocket::stream<beast::tcp_stream&>& ws,
                                                         std::shared_ptr<Wakeup> wakeup) {
  beast::flat_buffer incoming;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(incoming, use_tuple);
    if (ec) break;
    incoming.clear();
    if (incoming.capacity() > 4096) incoming.shrink_to_fit();
  }
  wakeup->client_gone = true;
  wakeup->reader_running = false;
  wakeup->timer.cancel();
}

void wake_on_strand(const std::shared_ptr<Wakeup>& wakeup, beast::tcp_stream& stream, StreamConnection& connection) {
  const auto executor = stream.get_executor();
  std::weak_ptr<Wakeup> weak = wakeup;
  connection.set_waker([executor, weak, &stream, &connection] {
    asio::post(executor, [weak, &stream, &connection] {
      auto w = weak.lock();
      if (!w) return;
      w->timer.cancel();
      // Cut while a write is stuck on a client that does not read: end the write.
      if (connection.cut()) stream.cancel();
    });
  });
}

// The SSE response head, in a frame of its own: its fields and serializer are freed
// before the stream settles in (an idle stream should cost as little as it can).
asio::awaitable<bool> write_sse_head(beast::tcp_stream& stream, unsigned version, std::chrono::milliseconds bound) {
  bh::response<bh::empty_body> head{bh::status::ok, version};
  head.set(bh::field::content_type, "text/event-stream");
  head.set(bh::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");  // proxies must not hold events back
  head.keep_alive(false);               // the body ends when the stream does
  bh::response_serializer<bh::empty_body> serializer{head};
  stream.expires_after(bound);
  auto [ec, n] = co_await bh::async_write_header(stream, serializer, use_tuple);
  co_return !ec;
}

asio::awaitable<void> serve_sse(beast::tcp_stream& stream, unsigned version, StreamAccept& accept,
                                const StreamSessionOptions& options, std::function<void()>& interrupt) {
  auto& connection = *accept.connection;
  auto wakeup = std::make_shared<Wakeup>(stream.get_executor());
  wake_on_strand(wakeup, stream, connection);
  interrupt = [wakeup, &stream] {
    wakeup->interrupted = true;
    wakeup->timer.cancel();
    stream.cancel();
  };
  const auto bound = accept.heartbeat + options.write_timeout;
  if (!co_await write_sse_head(stream, version, bound)) co_return;

  // The reader waits as long as the client stays: a deadline set now would apply to
  // it (Beast arms a read with the expiry current when it starts) and end the stream.
  // The writes below set their own bound (with a read pending, only the write's).
  stream.expires_never();
  wakeup->reader_running = true;
  read_until_sse_client_leaves(stream, wakeup);

  // A comment first, so a client sees the stream open before any update.
  std::string out = ": open\n\n";
  std::vector<StreamEvent> sending;
  for (;;) {
    if (!out.empty()) {
      stream.expires_after(bound);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
      if (ec) break;
      out.clear();
      connection.delivered(std::move(sending));
      sending.clear();
    }
    const bool woken = co_await wait(*wakeup, connection, accept.heartbeat);
    if (connection.cut() || wakeup->client_gone || wakeup->interrupted || *options.stopping) break;
    sending = connection.take();
    for (const auto& event : sending) out += sse_frame(event);
    if (!woken && out.empty()) out = ": heartbeat\n\n";
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.cancel();
  co_await join_reader(*wakeup);
}

asio::awaitable<void> serve_websocket(beast::tcp_stream& stream, bh::request<bh::string_body>& message,
                                      StreamAccept& accept, const StreamSessionOptions& options,
                                      std::function<void()>& interrupt) {
  auto& connection = *accept.connection;
  auto wakeup = std::make_shared<Wakeup>(stream.get_executor());
  websocket::stream<beast::tcp_stream&> ws(stream);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.write_timeout;  // the handshake and the closing one
  timeouts.idle_timeout = websocket::stream_base::none();  // our pings, below
  timeouts.keep_alive_pings = false;
  stream.expires_never();
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(bh::field::server, "paypipe"); }));
  auto [accept_ec] = co_await ws.async_accept(message, use_tuple);
  if (accept_ec) co_return;
  ws.text(true);
  wake_on_strand(wakeup, stream, connection);
  interrupt = [wakeup, &stream] {
    wakeup->interrupted = true;
    wakeup->timer.cancel();
    stream.cancel();
  };

  wakeup->reader_running = true;
  asio::co_spawn(stream.get_executor(), read_until_websocket_client_leaves(ws, wakeup), asio::detached);

  const auto bound = accept.heartbeat + options.write_timeout;
  for (;;) {
    const bool woken = co_await wait(*wakeup, connection, accept.heartbeat);
    if (connection.cut() || wakeup->client_gone || wakeup->interrupted || *options.stopping) break;
    beast::error_code ec;
    stream.expires_after(bound);
    auto sending = connection.take();
    for (const auto& event : sending) {
      const auto frame = websocket_frame(event);
      std::tie(ec, std::ignore) = co_await ws.async_write(asio::buffer(frame), use_tuple);
      if (ec) break;
    }
    if (!ec) connection.delivered(std::move(sending));
    if (!ec && !woken) std::tie(ec) = co_await ws.async_ping({}, use_tuple);
    stream.expires_never();
    if (ec) break;
  }
  if (!wakeup->client_gone && ws.is_open()) {
    const auto reason = connection.cut() ? connection.cut_reason() : std::string("server stopping");
    const auto code = connection.cut() ? websocket::close_code::policy_error : websocket::close_code::going_away;
    stream.expires_after(options.write_timeout);
    (void)co_await ws.async_close(websocket::close_reason(code, reason), use_tuple);
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.cancel();
  co_await join_reader(*wakeup);
}

}  // namespace

asio::awaitable<void> serve_stream(beast::tcp_stream& stream, bh::request<bh::string_body>& message,
                                   StreamAccept accept, StreamSessionOptions options,
                                   std::function<void()>& interrupt) {
  try {
    if (websocket::is_upgrade(message)) {
      co_await serve_websocket(stream, message, accept, options, interrupt);
    } else {
      const auto version = message.version();
      message = {};  // an SSE stream needs nothing more of its request: free its fields
      co_await serve_sse(stream, version, accept, options, interrupt);
    }
  } catch (const std::exception& e) {
    spdlog::warn("live-update stream ended by an exception: {}", e.what());
  }
  interrupt = nullptr;
  accept.connection->set_waker(nullptr);
  accept.connection->release();
}

}  // namespace paypipe::http::detail
