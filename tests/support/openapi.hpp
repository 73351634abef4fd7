#pragma once
// Reads the routes ("METHOD /path/{param}") of an OpenAPI 3 document written in YAML
// under proto/http/, so a test can compare them with a service's router: the spec and
// the handlers never drift apart. Understands the subset we write: a top-level
// `paths:` block, two-space indentation, methods as keys under each path.

#include <set>
#include <string>

#include "http/router.hpp"

namespace paypipe::testing {

// {"GET /v1/payments/{paymentId}", ...}; throws if the file cannot be read.
std::set<std::string> openapi_routes(const std::string& path);

// The same form from a router, leaving out the health routes every daemon shares
// (/healthz, /readyz, /metrics), which proto/http/common.yaml documents once.
std::set<std::string> router_routes(const http::Router& router);

}  // namespace paypipe::testing
