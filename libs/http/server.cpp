#include "http/server.hpp"

#include "http/asio_prelude.hpp"
#include "http/beast_request.hpp"
#include "http/stream_session.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/metrics.hpp"
#include "core/thread_pool.hpp"

namespace paypipe::http {

using namespace detail;

namespace {

struct ServerMetrics {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Gauge& connections;

  static ServerMetrics& get() {
    static ServerMetrics metrics{prometheus::BuildCounter()
                                     .Name("http_server_requests_total")
                                     .Help("HTTP requests answered, by route and status")
                                     .Register(core::metrics::registry()),
                                 prometheus::BuildHistogram()
                                     .Name("http_server_request_duration_seconds")
                                     .Help("Time from a request's headers read to its answer written")
                                     .Register(core::metrics::registry()),
                                 prometheus::BuildGauge()
                                     .Name("http_server_open_connections")
                                     .Help("Open HTTP connections")
                                     .Register(core::metrics::registry())
                                     .Add({})};
    return metrics;
  }
};

bh::response<bh::string_body> to_message(Response&& response, unsigned version, bool keep_alive) {
  bh::response<bh::string_body> message{static_cast<bh::status>(response.status), version};
  if (!response.content_type.empty()) message.set(bh::field::content_type, response.content_type);
  for (auto& h : response.headers) message.set(h.name, h.value);
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

Response problem(int status, std::string code, std::string detail) {
  return problem_response(
      Problem{status, "https://paypipe.dev/problems/" + code, reason_phrase(status), std::move(detail), code, {}});
}

// Hands the handler's answer back to the connection's coroutine on its own executor,
// exactly once. If a handler drops its Responder without answering, the client still
// gets a 500 rather than a hung connection.
template <typename CompletionHandler>
class Completion {
 public:
  explicit Completion(CompletionHandler handler) : handler_(std::move(handler)) {}
  ~Completion() {
    if (!done_.exchange(true)) deliver(problem(500, "no-answer", "the handler did not answer"));
  }
  void complete(Response response) {
    if (!done_.exchange(true)) deliver(std::move(response));
  }

 private:
  void deliver(Response response) {
    auto executor = asio::get_associated_executor(handler_);
    asio::post(executor, [handler = std::move(handler_), response = std::move(response)]() mutable {
      std::move(handler)(std::move(response));
    });
  }

  CompletionHandler handler_;
  std::atomic<bool> done_{false};
};

}  // namespace

struct ConnectionState {
  asio::any_io_executor executor;
  beast::tcp_stream* stream = nullptr;  // set while the session runs; touched on `executor` only
  bool idle = false;
  std::function<void()> interrupt;  // set while a live-update stream runs: ends it
  bool handed_off = false;          // the session became a stream, which ends the connection
};

struct Server::Impl {
  Impl(ServerOptions o, Router r)
      : options(std::move(o)),
        router(std::move(r)),
        ioc(options.io_threads),
        acceptor(ioc),
        workers(static_cast<std::size_t>(options.worker_threads), "http-worker") {}

  ServerOptions options;
  Router router;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  core::ThreadPool workers;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool running = false;
  std::uint16_t bound_port = 0;

  std::mutex mutex;
  std::condition_variable drained;
  std::set<std::shared_ptr<ConnectionState>> connections;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket, std::shared_ptr<ConnectionState> state);
  asio::awaitable<void> stream_session(beast::tcp_stream stream, bh::request<bh::string_body> message,
                                       StreamAccept accept, std::shared_ptr<ConnectionState> state);
  // A connection ended: counted out, and stop() told.
  void ended(const std::shared_ptr<ConnectionState>& state, std::exception_ptr error);
  asio::awaitable<bool> write(beast::tcp_stream& stream, Response response, unsigned version, bool keep_alive);
  Response route_response(Request& request, Router::Match& match);
  // Runs a stream route's handler on a worker and resumes the session with its answer.
  template <typename Token>
  auto async_open_stream(const Router::Route& route, const Request& request, Token&& token);

  template <typename Token>
  auto async_handle(const Router::Route& route, Request request, Token&& token) {
    return asio::async_initiate<Token, void(Response)>(
        [this, &route](auto handler, Request request) {
          auto completion = std::make_shared<Completion<decltype(handler)>>(std::move(handler));
          Responder responder = [completion](Response response) { completion->complete(std::move(response)); };
          if (route.async_handler) {
            core::TraceScope scope(request.trace);
            try {
              route.async_handler(std::move(request), responder);
            } catch (const std::exception& e) {
              spdlog::error("handler {} {} threw: {}", route.method, route.pattern, e.what());
              responder(problem(500, "internal", "internal error; see the service log"));
            }
            return;
          }
          workers.post([&route, request = std::move(request), responder]() {
            core::TraceScope scope(request.trace);
            Response response;
            try {
              response = route.handler(request);
            } catch (const std::exception& e) {
              spdlog::error("handler {} {} threw: {}", route.method, route.pattern, e.what());
              response = problem(500, "internal", "internal error; see the service log");
            }
            responder(std::move(response));
          });
        },
        token, std::move(request));
  }
};

template <typename Token>
auto Server::Impl::async_open_stream(const Router::Route& route, const Request& request, Token&& token) {
  return asio::async_initiate<Token, void(StreamAccept)>(
      [this, &route, &request](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        workers.post([&route, &request, shared] {
          core::TraceScope scope(request.trace);
          StreamAccept accept;
          try {
            accept = route.stream_handler(request);
          } catch (const std::exception& e) {
            spdlog::error("stream handler {} threw: {}", route.pattern, e.what());
            accept.refusal = problem(500, "internal", "internal error; see the service log");
          }
          auto executor = asio::get_associated_executor(*shared);
          asio::post(executor,
                     [shared, accept = std::move(accept)]() mutable { std::move (*shared)(std::move(accept)); });
        });
      },
      token);
}

asio::awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), use_tuple);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    auto state = std::make_shared<ConnectionState>();
    state->executor = socket.get_executor();
    {
      std::lock_guard lock(mutex);
      if (connections.size() >= options.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      connections.insert(state);
    }
    ServerMetrics::get().connections.Increment();
    asio::co_spawn(state->executor, session(std::move(socket), state), [this, state](std::exception_ptr error) {
      // A session that became a live-update stream ends when the stream does.
      if (!state->handed_off) ended(state, error);
    });
  }
}

void Server::Impl::ended(const std::shared_ptr<ConnectionState>& state, std::exception_ptr error) {
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("HTTP connection ended by an exception: {}", e.what());
    }
  }
  ServerMetrics::get().connections.Decrement();
  std::lock_guard lock(mutex);
  connections.erase(state);
  drained.notify_all();
}

asio::awaitable<void> Server::Impl::stream_session(beast::tcp_stream stream, bh::request<bh::string_body> message,
                                                   StreamAccept accept, std::shared_ptr<ConnectionState> state) {
  state->stream = &stream;
  co_await serve_stream(stream, message, std::move(accept), StreamSessionOptions{options.write_timeout, &stopping},
                        state->interrupt);
  state->stream = nullptr;
}

asio::awaitable<bool> Server::Impl::write(beast::tcp_stream& stream, Response response, unsigned version,
                                          bool keep_alive) {
  auto message = to_message(std::move(response), version, keep_alive);
  stream.expires_after(options.write_timeout);
  auto [ec, n] = co_await bh::async_write(stream, message, use_tuple);
  co_return !ec;
}

Response Server::Impl::route_response(Request& request, Router::Match& match) {
  if (match.status == 405) {
    auto response = problem(405, "method-not-allowed", request.method + " is not allowed on " + request.path);
    response.headers.push_back(Header{"Allow", match.allow});
    return response;
  }
  return problem(404, "not-found", "no route for " + request.method + " " + request.path);
}

asio::awaitable<void> Server::Impl::session(tcp::socket socket, std::shared_ptr<ConnectionState> state) {
  beast::tcp_stream stream(std::move(socket));
  state->stream = &stream;
  beast::flat_buffer buffer;
  auto& metrics = ServerMetrics::get();

  for (std::size_t served = 0;; ++served) {
    // Wait for the first byte of the next request: an idle keep-alive connection may
    // wait idle_timeout, and is closed at once when the server stops.
    if (buffer.size() == 0) {
      if (stopping) break;
      state->idle = true;
      stream.expires_after(options.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), use_tuple);
      state->idle = false;
      if (ec) break;  // end of stream, idle timeout or shutdown: a normal close
      buffer.commit(n);
    }

    // The whole request must arrive within read_timeout of its first byte.
    bh::request_parser<bh::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    stream.expires_after(options.read_timeout);
    auto [header_ec, header_n] = co_await bh::async_read_header(stream, buffer, parser, use_tuple);
    beast::error_code ec = header_ec;
    if (!ec) {
      const auto length = parser.content_length();
      if (length && *length > options.body_limit) {
        ec = bh::error::body_limit;
      } else {
        if (parser.get()[bh::field::expect] == "100-continue") {
          bh::response<bh::empty_body> go_on{bh::status::continue_, parser.get().version()};
          auto [cec, cn] = co_await bh::async_write(stream, go_on, use_tuple);
          if (cec) break;
        }
        if (!parser.is_done()) {
          auto [body_ec, body_n] = co_await bh::async_read(stream, buffer, parser, use_tuple);
          ec = body_ec;
        }
      }
    }
    if (ec) {
      // Answer what can be answered, then close: the stream position is unknown now.
      std::optional<Response> answer;
      if (ec == bh::error::body_limit) {
        answer = problem(413, "body-too-large", "the body exceeds " + std::to_string(options.body_limit) + " bytes");
      } else if (ec == bh::error::header_limit) {
        answer = problem(431, "headers-too-large", "the headers exceed the limit");
      } else if (ec == beast::error::timeout) {
        answer = problem(408, "request-timeout", "the request did not arrive in time");
      } else if (ec.category() == bh::make_error_code(bh::error::bad_target).category() &&
                 ec != bh::error::end_of_stream && ec != bh::error::partial_message) {
        answer = problem(400, "bad-request", "malformed HTTP request: " + ec.message());
      }
      if (answer) {
        attach_trace(*answer, core::TraceContext::generate());
        (void)co_await write(stream, std::move(*answer), 11, false);
      }
      break;
    }

    const auto started = std::chrono::steady_clock::now();
    auto& message = parser.get();
    const unsigned version = message.version();
    const bool client_keep_alive = message.keep_alive();
    Request request = to_request(message);
    const auto trace = request.trace;
    Response response;
    std::string route_label = "unmatched";
    if (!parse_target(request.target, request.path, request.query)) {
      response = problem(400, "bad-target", "malformed request target");
    } else {
      auto match = router.match(request.method, raw_path(request.target));
      if (match.route == nullptr) {
        response = route_response(request, match);
      } else {
        route_label = match.route->pattern;
        request.path_params = std::move(match.params);
        stream.expires_never();
        if (match.route->stream_handler) {
          // Opening may read the database (the user's latest update): on a worker.
          StreamAccept accept = co_await async_open_stream(*match.route, request, asio::use_awaitable);
          if (accept.connection) {
            const bool upgrade = beast::iequals(message[bh::field::upgrade], "websocket");
            metrics.requests.Add({{"route", route_label}, {"status", upgrade ? "101" : "200"}}).Increment();
            // A stream may stay open for hours: it goes on in a coroutine of its own
            // with the socket and the request only, and this session's frame (its
            // parser, buffers, request and response) is freed now. Started after this
            // returns (same strand), so marking the hand-off after is in time.
            state->stream = nullptr;
            asio::co_spawn(state->executor,
                           stream_session(std::move(stream), parser.release(), std::move(accept), state),
                           [this, state](std::exception_ptr error) { ended(state, error); });
            state->handed_off = true;
            co_return;
          }
          response = std::move(accept.refusal);
        } else {
          response = co_await async_handle(*match.route, std::move(request), asio::use_awaitable);
        }
      }
    }
    attach_trace(response, trace);
    const int status = response.status;
    const bool keep_alive = client_keep_alive && !stopping && served + 1 < options.max_requests_per_connection;
    const bool written = co_await write(stream, std::move(response), version, keep_alive);
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.requests.Add({{"route", route_label}, {"status", std::to_string(status)}}).Increment();
    metrics.duration.Add({{"route", route_label}}, core::metrics::latency_buckets()).Observe(elapsed);
    if (!written || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  state->stream = nullptr;
}

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

std::uint16_t Server::port() const { return impl_->bound_port; }

core::Status Server::start() {
  auto& impl = *impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl.options.address, ec);
  if (ec) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-address",
                            "bad listen address " + impl.options.address + ": " + ec.message());
  }
  const tcp::endpoint endpoint(address, impl.options.port);
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error(
        core::ErrorCategory::unavailable, "listen-failed",
        "cannot listen on " + impl.options.address + ":" + std::to_string(impl.options.port) + ": " + ec.message());
  }
  impl.bound_port = impl.acceptor.local_endpoint().port();
  impl.work.emplace(impl.ioc.get_executor());
  asio::co_spawn(impl.ioc, impl.accept_loop(), asio::detached);
  for (int i = 0; i < impl.options.io_threads; ++i) {
    impl.threads.emplace_back([&impl] {
      pthread_setname_np(pthread_self(), "http-io");
      impl.ioc.run();
    });
  }
  impl.running = true;
  return {};
}

void Server::stop(std::chrono::milliseconds grace) {
  auto& impl = *impl_;
  if (!impl.running) return;
  impl.running = false;
  impl.stopping = true;
  asio::post(impl.acceptor.get_executor(), [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
  {
    std::unique_lock lock(impl.mutex);
    for (const auto& state : impl.connections) {
      asio::post(state->executor, [state] {
        if (state->interrupt) state->interrupt();
        else if (state->idle && state->stream) state->stream->cancel();
      });
    }
    // In-flight requests finish and close; wait for them within the grace period.
    impl.drained.wait_for(lock, grace, [&impl] { return impl.connections.empty(); });
    for (const auto& state : impl.connections) {
      asio::post(state->executor, [state] {
        if (state->stream) state->stream->cancel();
      });
    }
  }
  impl.workers.stop();
  impl.work.reset();
  impl.ioc.stop();
  for (auto& t : impl.threads) {
    if (t.joinable()) t.join();
  }
  impl.threads.clear();
  // The close and the cancels posted above may not have run before ioc.stop() (seen
  // under load: the port kept listening, so clients connected and timed out, and stayed
  // bound, so a new server could not listen on it). With every I/O thread joined nothing
  // else touches them: close the port and cut what is still open here.
  beast::error_code ignored;
  impl.acceptor.close(ignored);
  std::lock_guard lock(impl.mutex);
  for (const auto& state : impl.connections) {
    if (state->stream) state->stream->socket().close(ignored);
  }
}

}  // namespace paypipe::http
