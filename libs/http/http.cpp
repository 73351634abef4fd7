#include "http/http.hpp"

#include <algorithm>
#include <cctype>

#include "core/json.hpp"

namespace paypipe::http {

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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
    response.headers.push_back(
        {"WWW-Authenticate", problem.code == "invalid-token" ? R"(Bearer realm="paypipe", error="invalid_token")"
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
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

bool parse_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query) {
  if (target.empty() || target.front() != '/') return false;
  const auto question = target.find('?');
  auto decoded = url_decode(target.substr(0, question), false);
  if (!decoded) return false;
  path = std::move(*decoded);
  query.clear();
  if (question == std::string_view::npos) return true;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("") : url_decode(pair.substr(eq + 1), true);
    if (!key || !value) return false;
    query[std::move(*key)] = std::move(*value);
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
