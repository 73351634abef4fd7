#include "auth/http_auth.hpp"

#include <algorithm>
#include <cctype>

namespace paypipe::auth {

namespace {

constexpr std::string_view scheme = "Bearer ";

std::optional<std::string_view> bearer_token(const http::Request& request) {
  const auto header = request.header("authorization");
  if (!header) return std::nullopt;
  if (header->size() < scheme.size()) return std::string_view{};
  // The scheme is case-insensitive (RFC 9110 11.1).
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*header)[i])) != std::tolower(static_cast<unsigned char>(scheme[i]))) {
      return std::string_view{};
    }
  }
  return header->substr(scheme.size());
}

}  // namespace

core::Result<Claims> authenticate(const http::Request& request, const Authenticator& authenticator) {
  const auto token = bearer_token(request);
  if (!token) {
    return core::make_error(core::ErrorCategory::unauthenticated, "missing-token",
                            "this endpoint needs Authorization: Bearer <token>");
  }
  if (token->empty()) {
    return core::make_error(core::ErrorCategory::unauthenticated, "invalid-token",
                            "the Authorization header is not a Bearer token");
  }
  return authenticator.verify(*token);
}

http::Handler user_route(std::shared_ptr<const Authenticator> authenticator, UserHandler handler,
                         std::shared_ptr<http::RateLimiter> limiter) {
  return [authenticator = std::move(authenticator), handler = std::move(handler),
          limiter = std::move(limiter)](const http::Request& request) {
    auto claims = authenticate(request, *authenticator);
    if (!claims) return http::error_response(claims.error());
    if (limiter) {
      if (const auto d = limiter->acquire(claims->subject); !d.allowed)
        return http::rate_limited_response(d.retry_after);
    }
    return handler(request, *claims);
  };
}

http::AsyncHandler async_user_route(std::shared_ptr<const Authenticator> authenticator, AsyncUserHandler handler,
                                    std::shared_ptr<http::RateLimiter> limiter) {
  return [authenticator = std::move(authenticator), handler = std::move(handler), limiter = std::move(limiter)](
             http::Request request, http::Responder respond) {
    auto claims = authenticate(request, *authenticator);
    if (!claims) {
      respond(http::error_response(claims.error()));
      return;
    }
    if (limiter) {
      if (const auto d = limiter->acquire(claims->subject); !d.allowed) {
        respond(http::rate_limited_response(d.retry_after));
        return;
      }
    }
    handler(std::move(request), std::move(claims).value(), std::move(respond));
  };
}

http::StreamHandler user_stream(std::shared_ptr<const Authenticator> authenticator,
                                std::shared_ptr<http::StreamHub> hub) {
  return [authenticator = std::move(authenticator), hub = std::move(hub)](const http::Request& request) {
    http::StreamAccept accept;
    accept.heartbeat = hub->limits().heartbeat;
    auto claims = authenticate(request, *authenticator);
    if (!claims) {
      accept.refusal = http::error_response(claims.error());
      return accept;
    }
    auto text = request.header("last-event-id");
    if (!text) text = request.query_param("lastEventId");
    const auto last_id = http::StreamHub::parse_last_id(text);
    if (!last_id) {
      accept.refusal = http::error_response(core::make_error(core::ErrorCategory::invalid_input, "bad-last-event-id",
                                                             "Last-Event-ID must be an update id (digits)"));
      return accept;
    }
    // A stream is asked for: a WebSocket upgrade, or Accept: text/event-stream (as
    // EventSource sends). Anything else would wait forever on a body that never ends.
    const auto upgrade = request.header("upgrade");
    const bool websocket = upgrade && upgrade->size() == 9 &&
                           std::equal(upgrade->begin(), upgrade->end(), "websocket",
                                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    const auto wanted = request.header("accept");
    if (!websocket && (!wanted || wanted->find("text/event-stream") == std::string_view::npos)) {
      accept.refusal = http::problem_response(
          http::Problem{406,
                        "https://paypipe.dev/problems/not-acceptable",
                        "Not Acceptable",
                        "a live-update stream needs Accept: text/event-stream (SSE) or a WebSocket upgrade",
                        "not-acceptable",
                        {}});
      return accept;
    }
    auto connection = hub->open(claims->subject, *last_id);
    if (!connection) {
      accept.refusal = http::error_response(connection.error());
      return accept;
    }
    accept.connection = std::move(connection).value();
    return accept;
  };
}

core::Status require_service(const http::Request& request, const Authenticator& authenticator, std::string_view scope,
                             std::string_view admin_token) {
  const auto token = bearer_token(request);
  if (!token) {
    return core::make_error(core::ErrorCategory::unauthenticated, "missing-token",
                            "this endpoint needs a service credential: Authorization: Bearer <token>");
  }
  if (!admin_token.empty() && http::constant_time_equals(*token, admin_token)) return {};
  auto claims = authenticator.verify(*token);
  if (!claims) return claims.error();
  if (!claims->has_scope(scope)) {
    return core::make_error(core::ErrorCategory::forbidden, "scope-required",
                            "this endpoint is for services: the token needs the scope " + std::string(scope));
  }
  return {};
}

core::Result<std::string> acting_user(const std::optional<std::string>& claimed, std::string_view subject) {
  if (claimed && *claimed != subject) {
    return core::make_error(core::ErrorCategory::forbidden, "user-mismatch",
                            "userId must be the token's user (or be left out: the token says who you are)");
  }
  return std::string(subject);
}

http::RateLimit read_rate_limit(core::Env& env) {
  http::RateLimit limit;
  limit.per_second = static_cast<double>(env.integer("PAYPIPE_RATE_LIMIT_PER_USER", 20, 0, 1'000'000));
  limit.burst = static_cast<double>(
      env.integer("PAYPIPE_RATE_LIMIT_BURST", static_cast<std::int64_t>(limit.per_second * 2), 0, 10'000'000));
  if (limit.per_second > 0 && limit.burst < 1) env.fail("PAYPIPE_RATE_LIMIT_BURST", "must be at least 1 when limiting");
  return limit;
}

}  // namespace paypipe::auth
