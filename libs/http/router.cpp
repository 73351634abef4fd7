#include "http/router.hpp"

#include <set>

#include "core/json.hpp"

namespace paypipe::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

Router& Router::add(std::string method, std::string pattern, Handler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), std::move(handler), nullptr, nullptr});
  return *this;
}

Router& Router::add_async(std::string method, std::string pattern, AsyncHandler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), nullptr, std::move(handler), nullptr});
  return *this;
}

Router& Router::stream(std::string pattern, StreamHandler handler) {
  auto segments = split_path(pattern);
  routes_.push_back(Route{"GET", std::move(pattern), std::move(segments), nullptr, nullptr, std::move(handler)});
  return *this;
}

Router::Match Router::match(std::string_view method, std::string_view raw_path) const {
  Match result;
  result.status = 404;
  if (raw_path.empty() || raw_path.front() != '/') return result;
  // Split first, decode each segment after: "/v1/items/a%2Fb" has three segments.
  auto segments = split_path(raw_path);
  for (auto& segment : segments) {
    auto decoded = url_decode(segment, false);
    if (!decoded) return result;
    segment = std::move(*decoded);
  }
  std::set<std::string> allowed;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool matched = true;
    for (std::size_t i = 0; i < segments.size() && matched; ++i) {
      if (is_param(route.segments[i])) {
        if (segments[i].empty()) matched = false;
        else params[route.segments[i].substr(1, route.segments[i].size() - 2)] = segments[i];
      } else if (route.segments[i] != segments[i]) {
        matched = false;
      }
    }
    if (!matched) continue;
    if (route.method == method) {
      result.route = &route;
      result.params = std::move(params);
      result.status = 200;
      return result;
    }
    allowed.insert(route.method);
  }
  if (!allowed.empty()) {
    result.status = 405;
    for (const auto& m : allowed) result.allow += (result.allow.empty() ? "" : ", ") + m;
  }
  return result;
}

core::Result<core::json::Document> json_body(const Request& request) {
  const auto type = request.header("content-type");
  if (type && type->find("json") == std::string_view::npos) {
    return core::make_error(core::ErrorCategory::invalid_input, "unsupported-media-type",
                            "the body must be application/json");
  }
  if (request.body.empty()) {
    return core::make_error(core::ErrorCategory::invalid_input, "missing-body", "a JSON body is required");
  }
  return core::json::parse(request.body);
}

core::Status require_bearer(const Request& request, std::string_view expected_token) {
  const auto header = request.header("authorization");
  static constexpr std::string_view scheme = "Bearer ";
  if (!header || header->size() <= scheme.size() || header->substr(0, scheme.size()) != scheme) {
    return core::make_error(core::ErrorCategory::unauthenticated, "missing-token",
                            "this endpoint needs an admin token: Authorization: Bearer <token>");
  }
  if (expected_token.empty() || !constant_time_equals(header->substr(scheme.size()), expected_token)) {
    return core::make_error(core::ErrorCategory::forbidden, "bad-token", "the admin token is not valid");
  }
  return {};
}

}  // namespace paypipe::http
