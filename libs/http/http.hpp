#pragma once
// Plain HTTP types shared by the server, the router and the client. No Boost here:
// Beast and Asio stay inside libs/http's .cpp files, so including this costs nothing.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/trace.hpp"

namespace paypipe::http {

struct Header {
  std::string name;  // lower case on requests we parse
  std::string value;
};

struct Request {
  std::string method;  // upper case: GET, POST, ...
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded, for messages; routing splits the target's raw path
  std::map<std::string, std::string> query;        // percent-decoded; last value wins
  std::vector<Header> headers;
  std::string body;
  std::map<std::string, std::string> path_params;  // filled by the router: /v1/payments/{id}
  core::TraceContext trace;  // the caller's traceparent continued, or a new trace

  // Case-insensitive header lookup.
  std::optional<std::string_view> header(std::string_view name) const;
  std::string_view param(const std::string& name) const;
  std::optional<std::string_view> query_param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response empty(int status);
};

// RFC 7807 problem details, sent as application/problem+json.
struct Problem {
  int status = 500;
  std::string type;    // "https://paypipe.dev/problems/<code>" or "about:blank"
  std::string title;   // short, fixed per type
  std::string detail;  // this occurrence
  std::string code;    // our stable machine-readable code, also in `type`
  std::vector<std::pair<std::string, std::string>> extensions;  // extra string members, e.g. paymentId
};

Response problem_response(const Problem& problem);

// What the server adds to every answer so a caller can quote the trace to an operator:
// a `traceparent` header (the request's trace, continued with the server's span) and,
// in a problem+json body, a `traceId` member.
void attach_trace(Response& response, const core::TraceContext& trace);

// The one mapping from an Error to an HTTP status and problem body.
Problem problem_for(const core::Error& error);
inline Response error_response(const core::Error& error) { return problem_response(problem_for(error)); }

const char* reason_phrase(int status);

// Percent-decodes a URL component ('+' stays '+' in paths, becomes ' ' in queries).
std::optional<std::string> url_decode(std::string_view text, bool plus_is_space);
std::string url_encode(std::string_view text);

// The path of an origin-form target as sent, escapes kept: "/v1/a%2Fb?x=1" -> "/v1/a%2Fb".
// The router splits this and decodes each segment after, so "%2F" stays in its segment.
std::string_view raw_path(std::string_view target);

// Splits "path?query" into the decoded path and the query map (Boost.URL's origin-form
// grammar); false if malformed.
bool parse_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query);

// Constant-time equality for secrets (admin tokens), so timing reveals nothing.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace paypipe::http
