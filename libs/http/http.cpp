#include "http/http.hpp"

#include <algorithm>
#include <cctype>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "core/json.hpp"

namespace paypipe::http {

namespace urls = boost::urls;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string_view Request::param(const std::string& name) const {
  const auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view{} : std::string_view(it->second);
}

std::optional<std::string_view> Request::query_param(const std::string& name) const {
  const auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

Response Response::json(int status, std::string body) {
  return Response{status, "application/json", std::move(body), {}};
}

Response Response::text(int status, std::string body, std::string content_type) {
  return Response{status, std::move(content_type), std::move(body), {}};
}

Response Response::empty(int status) { return Response{status, "", "", {}}; }

Response problem_response(const Problem& problem) {
  core::json::Writer w;
  w.begin_object()
      .field("type", problem.type)
      .field("title", problem.title)
      .field("status", problem.status)
      .field("detail", problem.detail);
  if (!problem.code.empty()) w.field("code", problem.code);
  for (const auto& [name, value] : problem.extensions) w.field(name, value);
  w.end_object();
  Response response{problem.status, "application/problem+json", w.take(), {}};
  // RFC 6750: a 401 names the scheme; a token that was sent but refused says so.
  if (problem.status == 401) {
    response.headers.push_back({"WWW-Authenticate", problem.code == "invalid-token"
                                                        ? R"(Bearer realm="paypipe", error="invalid_token")"
                                                        : R"(Bearer realm="paypipe")"});
  }
  // A 503 is always "try again": say when, so clients and load balancers back off
  // instead of hammering a daemon that waits out PostgreSQL or Kafka.
  if (problem.status == 503) response.headers.push_back({"Retry-After", "1"});
  return response;
}

void attach_trace(Response& response, const core::TraceContext& trace) {
  if (trace.trace_id.empty()) return;
  response.headers.push_back({"traceparent", trace.traceparent()});
  // Problem bodies are JSON objects we serialised; the id is hex, so it needs no escaping.
  auto& body = response.body;
  if (response.content_type != "application/problem+json" || body.size() < 2 || body.front() != '{' ||
      body.back() != '}' || body.find("\"traceId\"") != std::string::npos) {
    return;
  }
  const bool empty_object = body.find_first_not_of(" \t\r\n", 1) == body.size() - 1;
  body.insert(body.size() - 1, std::string(empty_object ? "" : ",") + "\"traceId\":\"" + trace.trace_id + "\"");
}

Problem problem_for(const core::Error& error) {
  using core::ErrorCategory;
  int status = 500;
  switch (error.category) {
    case ErrorCategory::invalid_input: status = 400; break;
    case ErrorCategory::unauthenticated: status = 401; break;
    case ErrorCategory::payment_required: status = 402; break;
    case ErrorCategory::forbidden: status = 403; break;
    case ErrorCategory::not_found: status = 404; break;
    case ErrorCategory::conflict: status = 409; break;
    case ErrorCategory::unprocessable: status = 422; break;
    case ErrorCategory::too_many_requests: status = 429; break;
    case ErrorCategory::unavailable: status = 503; break;
    case ErrorCategory::internal: status = 500; break;
  }
  Problem problem;
  problem.status = status;
  problem.code = error.code.empty() ? core::to_string(error.category) : error.code;
  problem.type = "https://paypipe.dev/problems/" + problem.code;
  problem.title = reason_phrase(status);
  // Internal errors may carry SQL or library text: the log has it, the client does not.
  problem.detail = error.category == ErrorCategory::internal ? "internal error; see the service log" : error.message;
  return problem;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

std::optional<std::string> url_decode(std::string_view text, bool plus_is_space) {
  const auto escaped = urls::make_pct_string_view(text);
  if (!escaped) return std::nullopt;
  urls::encoding_opts options;
  options.space_as_plus = plus_is_space;
  return escaped->decode(options);
}

std::string url_encode(std::string_view text) { return urls::encode(text, urls::unreserved_chars); }

std::string_view raw_path(std::string_view target) { return target.substr(0, target.find('?')); }

bool parse_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query) {
  const auto parsed = urls::parse_origin_form(target);
  if (!parsed) return false;
  path = parsed->path();
  query.clear();
  for (const auto& param : parsed->params()) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2"
    query[param.key] = param.value;
  }
  return true;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Compare over the longer length so the time depends on neither content nor where
  // they differ; a length mismatch still fails.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace paypipe::http
