#pragma once
// One HTTP/1.1 request parsed from raw bytes exactly as the server parses it (Beast's
// parser with the server's limits, then our Request): for the fuzz target and tests.

#include <string_view>

#include "core/error.hpp"
#include "http/http.hpp"

namespace paypipe::http {

// invalid_input for malformed requests, incomplete input, or limits exceeded.
core::Result<Request> parse_request(std::string_view bytes, std::size_t header_limit = 16 * 1024,
                                    std::size_t body_limit = 64 * 1024);

}  // namespace paypipe::http
