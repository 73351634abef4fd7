#pragma once
// How many statements a piece of work sends to PostgreSQL, counted from libpq's protocol
// trace of a pool's one connection: each statement is one Parse (extended protocol) or
// one Query (simple protocol), whatever round trip carries it. Tests check with it that
// a consumer's batch costs the same statements whatever its size.

#include <libpq-fe.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "pg/pool.hpp"

namespace paypipe::testing {

// The statements `work` sends on `one`, a pool of size 1 (so `work` gets the connection
// traced here).
inline std::size_t statements_sent(pg::Pool& one, const std::function<void()>& work) {
  if (one.options().size != 1) throw std::invalid_argument("statements_sent needs a pool of one connection");
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace(std::tmpfile(), &std::fclose);
  if (!trace) throw std::runtime_error("no temporary file for the protocol trace");
  PGconn* conn = nullptr;
  {
    auto lease = one.acquire();
    if (!lease) throw std::runtime_error("no connection: " + lease.error().message);
    conn = (*lease)->native();
    PQtrace(conn, trace.get());
    PQsetTraceFlags(conn, PQTRACE_SUPPRESS_TIMESTAMPS);  // after PQtrace, which clears them
  }
  work();
  auto lease = one.acquire();  // the same connection, unless the pool dropped it
  if (!lease || (*lease)->native() != conn) throw std::runtime_error("the traced connection was dropped");
  PQuntrace(conn);

  std::fflush(trace.get());
  std::rewind(trace.get());
  std::size_t statements = 0;
  char line[512];
  bool line_start = true;
  while (std::fgets(line, sizeof line, trace.get())) {
    const std::string_view text(line);
    if (line_start && text.starts_with("F\t")) {  // F<tab>length<tab>message: what we sent
      const auto message = text.substr(text.find('\t', 2) + 1);
      if (message.starts_with("Parse\t") || message.starts_with("Query\t")) ++statements;
    }
    line_start = text.ends_with('\n');
  }
  return statements;
}

}  // namespace paypipe::testing
