#pragma once
// Private to libs/http: turns Beast's parsed request into our plain Request (headers
// lower-cased, trace continued from traceparent or started). Shared by the server and
// parse_request so both read requests the same way.

#include "http/asio_prelude.hpp"
#include "http/http.hpp"

namespace paypipe::http::detail {

Request to_request(bh::request<bh::string_body>& message);

}  // namespace paypipe::http::detail
