#pragma once
// Bearer tokens on HTTP routes. A route that needs a user is wrapped:
//
//   router.get("/v1/wallets/{userId}", auth::user_route(authenticator, [](const http::Request& r,
//                                                                         const auth::Claims& who) { ... }));
//
// The wrapper answers 401 (problem+json, WWW-Authenticate: Bearer) before the handler
// runs when the token is missing or refused; with a limiter, a write the caller (sub)
// has no budget for is answered 429 with Retry-After. The handler decides ownership:
// another user's resource is 404, never 403, so its existence is not revealed.
//
// No Boost here (http/router.hpp is plain types).

#include <functional>
#include <memory>

#include "auth/authenticator.hpp"
#include "http/rate_limit.hpp"
#include "http/router.hpp"

namespace paypipe::auth {

// The caller's claims, or unauthenticated: "missing-token" without an Authorization
// header, "invalid-token" for anything else that is not a valid bearer token.
core::Result<Claims> authenticate(const http::Request& request, const Authenticator& authenticator);

using UserHandler = std::function<http::Response(const http::Request&, const Claims&)>;
using AsyncUserHandler = std::function<void(http::Request, Claims, http::Responder)>;

// `limiter` may be null (reads are not limited).
http::Handler user_route(std::shared_ptr<const Authenticator> authenticator, UserHandler handler,
                         std::shared_ptr<http::RateLimiter> limiter = nullptr);
http::AsyncHandler async_user_route(std::shared_ptr<const Authenticator> authenticator, AsyncUserHandler handler,
                                    std::shared_ptr<http::RateLimiter> limiter = nullptr);

// A live-update stream of the token's user (sub) on `hub`: 401 without a valid token,
// 400 for a malformed Last-Event-ID / lastEventId, 406 unless the request asks for a
// stream (Accept: text/event-stream, or a WebSocket upgrade), 503 past the hub's caps. A user's
// stream carries their own updates only: the hub is keyed by sub, never by the URL.
http::StreamHandler user_stream(std::shared_ptr<const Authenticator> authenticator,
                                std::shared_ptr<http::StreamHub> hub);

// A service credential: a valid token carrying `scope`, or the admin token (compared in
// constant time). A valid end-user token without the scope is forbidden (403).
core::Status require_service(const http::Request& request, const Authenticator& authenticator, std::string_view scope,
                             std::string_view admin_token);

// The 404 for another user's resource, worded like the resource's own "not found".
inline core::Error not_yours(std::string code, std::string message) {
  return core::make_error(core::ErrorCategory::not_found, std::move(code), std::move(message));
}

// The user a request acts for: the token's sub. A userId the body still names must be
// that same user (forbidden "user-mismatch" otherwise); absent, the token decides.
core::Result<std::string> acting_user(const std::optional<std::string>& claimed, std::string_view subject);

// PAYPIPE_RATE_LIMIT_PER_USER (writes per second per user, default 20, 0 = off) and
// PAYPIPE_RATE_LIMIT_BURST (default twice the rate).
http::RateLimit read_rate_limit(core::Env& env);

}  // namespace paypipe::auth
