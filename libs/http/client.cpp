#include "http/client.hpp"

#include "http/asio_prelude.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <sys/socket.h>

#include <cerrno>
#include <future>
#include <map>
#include <thread>

namespace paypipe::http {

using namespace detail;
namespace ssl = boost::asio::ssl;
namespace urls = boost::urls;
using core::ErrorCategory;
using core::make_error;

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() && std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

namespace {

struct Url {
  bool tls = false;
  std::string host;       // for the resolver and TLS: "example.com", "::1" (no brackets)
  std::string port;
  std::string authority;  // for the Host header and the pool: "example.com:8443", "[::1]:8080"
  std::string target;     // "/path?query"
  std::string key() const { return (tls ? "https://" : "http://") + authority; }
};

core::Result<Url> parse_url(std::string_view text) {
  auto bad = [](const std::string& why) { return make_error(ErrorCategory::invalid_input, "bad-url", why); };
  const auto parsed = urls::parse_uri(text);
  if (!parsed) return bad("not a URL: " + parsed.error().message());
  Url url;
  if (parsed->scheme_id() == urls::scheme::https) {
    url.tls = true;
  } else if (parsed->scheme_id() != urls::scheme::http) {
    return bad("URL must start with http:// or https://");
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty() || parsed->has_userinfo()) {
    return bad("URL needs a host (and no user info)");
  }
  url.host = parsed->host_type() == urls::host_type::ipv6 ? parsed->host_ipv6_address().to_string()
                                                          : parsed->host_address();
  url.port = parsed->has_port() ? std::string(parsed->port()) : (url.tls ? "443" : "80");
  if (url.port.empty()) return bad("empty port");
  url.authority = parsed->encoded_host_and_port();
  url.target = parsed->encoded_target();
  if (url.target.empty() || url.target.front() != '/') url.target.insert(0, "/");
  return url;
}

using Clock = std::chrono::steady_clock;

struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
};

core::Error timeout_or_io(const beast::error_code& ec, const char* what) {
  if (ec == beast::error::timeout) {
    return make_error(ErrorCategory::unavailable, "http-timeout", std::string(what) + " timed out");
  }
  return make_error(ErrorCategory::unavailable, "http-io", std::string(what) + " failed: " + ec.message());
}

}  // namespace

struct Client::Impl {
  explicit Impl(ClientOptions o) : options(std::move(o)), tls_context(ssl::context::tls_client) {
    if (options.verify_tls) {
      tls_context.set_default_verify_paths();
      tls_context.set_verify_mode(ssl::verify_peer);
    } else {
      tls_context.set_verify_mode(ssl::verify_none);
    }
    work.emplace(ioc.get_executor());
    thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "http-client");
      ioc.run();
    });
  }

  ~Impl() {
    asio::post(ioc, [this] { idle.clear(); });
    work.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }

  ClientOptions options;
  asio::io_context ioc;
  ssl::context tls_context;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::map<std::string, std::vector<Connection>> idle;  // touched on the I/O thread only

  asio::awaitable<core::Result<Connection>> connect(const Url& url, Clock::time_point deadline) {
    tcp::resolver resolver(ioc);
    auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, use_tuple);
    if (rec) co_return make_error(ErrorCategory::unavailable, "http-connect", "cannot resolve " + url.host);
    Connection connection;
    if (url.tls) {
      connection.secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, tls_context);
      if (!SSL_set_tlsext_host_name(connection.secure->native_handle(), url.host.c_str())) {
        co_return make_error(ErrorCategory::unavailable, "http-connect", "cannot set TLS SNI");
      }
      if (options.verify_tls) connection.secure->set_verify_callback(ssl::host_name_verification(url.host));
    } else {
      connection.plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    auto& lowest = connection.lowest();
    lowest.expires_at(std::min(deadline, Clock::now() + options.connect_timeout));
    auto [cec, endpoint] = co_await lowest.async_connect(endpoints, use_tuple);
    if (cec) {
      if (cec == beast::error::timeout) {
        // http-connect, not http-timeout: nothing of the request left this process.
        co_return make_error(ErrorCategory::unavailable, "http-connect", "connect to " + url.key() + " timed out");
      }
      co_return make_error(ErrorCategory::unavailable, "http-connect",
                           "cannot connect to " + url.key() + ": " + cec.message());
    }
    lowest.socket().set_option(tcp::no_delay(true));
    if (connection.secure) {
      auto [hec] = co_await connection.secure->async_handshake(ssl::stream_base::client, use_tuple);
      if (hec) {
        co_return make_error(ErrorCategory::unavailable, "http-connect",
                             "TLS handshake with " + url.key() +
                                 (hec == beast::error::timeout ? " timed out" : " failed: " + hec.message()));
      }
    }
    co_return connection;
  }

  struct Exchanged {
    beast::error_code ec;
    std::size_t written = 0;  // bytes of the request handed to the socket
  };

  template <typename Stream>
  asio::awaitable<Exchanged> exchange(Stream& stream, beast::flat_buffer& buffer, bh::request<bh::string_body>& message,
                                      bh::response_parser<bh::string_body>& parser) {
    auto [wec, wn] = co_await bh::async_write(stream, message, use_tuple);
    if (wec) co_return Exchanged{wec, wn};
    auto [rec, rn] = co_await bh::async_read(stream, buffer, parser, use_tuple);
    co_return Exchanged{rec, wn};
  }

  // A pooled connection the server closed while it sat idle (idle timeout, restart)
  // reads as end of stream (or has bytes nobody asked for): drop it before writing to
  // it, so that a request that must not be resent is not lost on it.
  static bool still_open(Connection& connection) {
    char byte;
    const auto n = ::recv(connection.lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // RFC 9110 9.2.2: these may be repeated with the same effect. POST and PATCH may not:
  // a request of theirs that may have reached the server is never sent again here.
  static bool idempotent(bh::verb method) {
    switch (method) {
      case bh::verb::get:
      case bh::verb::head:
      case bh::verb::put:
      case bh::verb::delete_:
      case bh::verb::options:
      case bh::verb::trace: return true;
      default: return false;
    }
  }

  asio::awaitable<core::Result<ClientResponse>> perform(ClientRequest request) {
    auto url = parse_url(request.url);
    if (!url) co_return url.error();
    const auto deadline = Clock::now() + request.timeout.value_or(options.request_timeout);

    bh::request<bh::string_body> message{bh::string_to_verb(request.method), url->target, 11};
    if (message.method() == bh::verb::unknown) {
      co_return make_error(ErrorCategory::invalid_input, "bad-method", "unknown HTTP method " + request.method);
    }
    message.set(bh::field::host, url->authority);
    message.set(bh::field::user_agent, options.user_agent);
    for (const auto& h : request.headers) message.set(h.name, h.value);
    message.body() = std::move(request.body);
    message.keep_alive(true);
    message.prepare_payload();

    // A pooled connection may have been closed by the server meanwhile. If the exchange
    // on it fails before any byte of an answer, the request is sent once more on a fresh
    // connection, but only when that cannot repeat its effect: nothing of it was written,
    // or its method is idempotent. A POST written to a connection that then closed may
    // have been read and acted upon (a Telegram message sent): its caller gets the error
    // and decides (see notification-sender's "maybe sent").
    const bool may_repeat = idempotent(message.method());
    for (int attempt = 0; attempt < 2; ++attempt) {
      Connection connection;
      bool reused = false;
      auto& pool = idle[url->key()];
      while (!pool.empty() && attempt == 0 && !reused) {
        connection = std::move(pool.back());
        pool.pop_back();
        reused = still_open(connection);
      }
      if (!reused) {
        auto fresh = co_await connect(*url, deadline);
        if (!fresh) co_return fresh.error();
        connection = std::move(fresh).value();
      }
      bh::response_parser<bh::string_body> parser;
      parser.body_limit(options.max_response_body);
      connection.lowest().expires_at(deadline);
      const auto exchanged = connection.plain
                                 ? co_await exchange(*connection.plain, connection.buffer, message, parser)
                                 : co_await exchange(*connection.secure, connection.buffer, message, parser);
      const auto& ec = exchanged.ec;
      if (ec) {
        const bool nothing_received = !parser.got_some();
        const bool harmless = may_repeat || exchanged.written == 0;
        if (reused && nothing_received && harmless && ec != beast::error::timeout) continue;
        if (ec == bh::error::body_limit) {
          co_return make_error(ErrorCategory::unavailable, "http-io", "response body over the limit");
        }
        co_return timeout_or_io(ec, ("request to " + url->key()).c_str());
      }
      auto& response = parser.get();
      ClientResponse result;
      result.status = static_cast<int>(response.result_int());
      for (const auto& field : response) {
        result.headers.push_back(Header{std::string(field.name_string()), std::string(field.value())});
      }
      result.body = std::move(response.body());
      if (response.keep_alive() && pool.size() < options.max_idle_per_host) {
        connection.lowest().expires_never();
        pool.push_back(std::move(connection));
      }
      co_return result;
    }
    co_return make_error(ErrorCategory::unavailable, "http-io", "connection closed before an answer");
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

void Client::async_send(ClientRequest request, std::function<void(core::Result<ClientResponse>)> done) {
  asio::co_spawn(impl_->ioc, impl_->perform(std::move(request)),
                 [done = std::move(done)](std::exception_ptr error, core::Result<ClientResponse> result) {
                   if (error) {
                     done(make_error(ErrorCategory::internal, "http-client", "HTTP client failed unexpectedly"));
                     return;
                   }
                   done(std::move(result));
                 });
}

core::Result<ClientResponse> Client::send(ClientRequest request) {
  auto promise = std::make_shared<std::promise<core::Result<ClientResponse>>>();
  auto future = promise->get_future();
  async_send(std::move(request),
             [promise](core::Result<ClientResponse> result) { promise->set_value(std::move(result)); });
  try {
    return future.get();
  } catch (const std::future_error&) {
    return make_error(ErrorCategory::unavailable, "http-client-stopped", "the HTTP client stopped");
  }
}

}  // namespace paypipe::http
