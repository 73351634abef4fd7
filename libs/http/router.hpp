#pragma once
// Routes "METHOD /path/{param}" to handlers.
//
// A Handler is a plain function Request -> Response; the server runs it on a worker
// thread, so it may block on the database. An AsyncHandler gets a Responder to call
// exactly once, from any thread, when its answer is ready (payment-api's batcher).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "http/http.hpp"
#include "http/stream_hub.hpp"

namespace paypipe::http {

// Called exactly once with the answer; may be called from any thread.
using Responder = std::function<void(Response)>;
using Handler = std::function<Response(const Request&)>;
using AsyncHandler = std::function<void(Request, Responder)>;

// A live-update stream (GET): the handler authenticates and opens a StreamConnection,
// or refuses with an answer. The server then streams it as Server-Sent Events, or as
// WebSocket messages when the request is a WebSocket upgrade, until the client leaves,
// the hub cuts it or the server stops.
struct StreamAccept {
  std::shared_ptr<StreamConnection> connection;  // null: `refusal` is the answer
  Response refusal;
  std::chrono::milliseconds heartbeat{15000};    // an SSE comment or a WebSocket ping
};
using StreamHandler = std::function<StreamAccept(const Request&)>;

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;  // e.g. "/v1/payments/{id}"
    std::vector<std::string> segments;
    Handler handler;
    AsyncHandler async_handler;
    StreamHandler stream_handler;
  };

  struct Match {
    const Route* route = nullptr;  // null: see status
    std::map<std::string, std::string> params;
    int status = 200;   // 404 no such path, 405 path exists for other methods
    std::string allow;  // for 405
  };

  Router& add(std::string method, std::string pattern, Handler handler);
  Router& add_async(std::string method, std::string pattern, AsyncHandler handler);
  Router& stream(std::string pattern, StreamHandler handler);
  Router& get(std::string pattern, Handler handler) { return add("GET", std::move(pattern), std::move(handler)); }
  Router& post(std::string pattern, Handler handler) { return add("POST", std::move(pattern), std::move(handler)); }
  Router& del(std::string pattern, Handler handler) { return add("DELETE", std::move(pattern), std::move(handler)); }

  // `raw_path` as sent (escapes kept, see raw_path()): split on '/', then each segment
  // decoded, so a parameter may hold an escaped slash.
  Match match(std::string_view method, std::string_view raw_path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Reads a JSON request body: 400 problem if the content type is not JSON or the body
// does not parse.
core::Result<core::json::Document> json_body(const Request& request);

// Admin endpoints: "Authorization: Bearer <token>" compared in constant time.
// unauthenticated (401) when missing, forbidden (403) when wrong. An empty expected
// token (not configured) refuses everything.
core::Status require_bearer(const Request& request, std::string_view expected_token);

}  // namespace paypipe::http
