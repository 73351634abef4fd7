#include "http/parse.hpp"

#include "http/beast_request.hpp"

#include <cctype>

namespace paypipe::http {

namespace detail {

Request to_request(bh::request<bh::string_body>& message) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  request.headers.reserve(8);
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.push_back(Header{std::move(name), std::string(field.value())});
  }
  request.body = std::move(message.body());
  const auto parent = request.header("traceparent");
  const auto parsed = parent ? core::TraceContext::parse(*parent) : std::nullopt;
  request.trace = parsed ? parsed->child() : core::TraceContext::generate();
  return request;
}

}  // namespace detail

core::Result<Request> parse_request(std::string_view bytes, std::size_t header_limit, std::size_t body_limit) {
  using namespace detail;
  bh::request_parser<bh::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(header_limit));
  parser.body_limit(body_limit);
  parser.eager(true);
  beast::error_code ec;
  std::size_t used = 0;
  while (!ec && used < bytes.size() && !parser.is_done()) {
    const auto n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (n == 0 && !ec) break;
    used += n;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-request",
                            "malformed HTTP request: " + (ec ? ec.message() : std::string("incomplete")));
  }
  auto request = detail::to_request(parser.get());
  if (!parse_target(request.target, request.path, request.query)) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-target", "malformed request target");
  }
  return request;
}

}  // namespace paypipe::http
