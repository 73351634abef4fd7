#pragma once
// Shared by the security tests (tests/security): problem+json checks, JSON escaping,
// raw sockets, and a random secret per run so a leak can be told from a coincidence.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "core/json.hpp"
#include "core/uuid.hpp"
#include "http/client.hpp"

namespace paypipe::testing::security {

// A fresh secret: `tag` plus 24 hex digits (a UUIDv7 without dashes and its time part).
inline std::string secret(const std::string& tag) {
  std::string id = core::new_uuid_v7();
  std::string hex;
  for (char c : id) {
    if (c != '-') hex += c;
  }
  return tag + hex.substr(8);
}

// A JSON string literal of `text` (UTF-8 kept, quotes, backslashes and controls escaped).
inline std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

inline core::json::Document json_of(const std::string& body) {
  auto doc = core::json::parse(body);
  INFO(body);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

// The answer is RFC 7807 problem+json with `status` in both the status line and the body.
inline void check_problem(const core::Result<http::ClientResponse>& r, int status) {
  REQUIRE(r.ok());
  INFO("status " << r->status << ", body " << r->body);
  CHECK(r->status == status);
  const auto type = r->header("content-type");
  REQUIRE(type.has_value());
  CHECK(type->rfind("application/problem+json", 0) == 0);
  auto doc = core::json::parse(r->body);
  REQUIRE(doc.ok());
  REQUIRE(doc->IsObject());
  REQUIRE(doc->HasMember("status"));
  CHECK((*doc)["status"].GetInt() == status);
  CHECK(doc->HasMember("title"));
  CHECK(doc->HasMember("type"));
}

// A blocking TCP connection to 127.0.0.1:`port`.
inline int connect_raw(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// Reads until the peer closes (or resets) the connection or `timeout` passes. Returns
// what arrived; `closed` says whether the peer closed in time.
inline std::string read_until_closed(int fd, std::chrono::milliseconds timeout, bool& closed) {
  std::string data;
  closed = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed = true;
      break;
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

}  // namespace paypipe::testing::security
