#pragma once
// PostgreSQL through libpq: owning wrappers, parameterised statements only.
//
// Every statement goes through exec(sql, args...) with $1..$n placeholders; values are
// sent separately from the SQL text, so no value is ever spliced into SQL. The one
// exception, execute_script, runs the trusted migration files embedded in our binaries.
//
// Errors come back as core::Error: connection loss, serialization failures, deadlocks
// and shutdowns are `unavailable` (retryable); unique and check violations are
// `conflict` with code "unique-violation:<constraint>"; the rest is `internal`.
// Nothing here throws.
//
// Threading: a Connection is used by one thread at a time; the Pool is thread-safe.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace paypipe::pg {

// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

// Binary data sent as bytea.
struct Bytea {
  std::string_view bytes;
};

Param to_param(std::string_view value);
inline Param to_param(const std::string& value) { return to_param(std::string_view(value)); }
inline Param to_param(const char* value) { return to_param(std::string_view(value)); }
Param to_param(std::int64_t value);
inline Param to_param(int value) { return to_param(static_cast<std::int64_t>(value)); }
Param to_param(bool value);
Param to_param(double value);
Param to_param(Bytea value);
inline Param to_param(std::nullopt_t) { return std::nullopt; }
template <typename T>
Param to_param(const std::optional<T>& value) {
  return value ? to_param(*value) : std::nullopt;
}
// Arrays travel as PostgreSQL array literals, e.g. for `= ANY($1::uuid[])`.
Param to_param(const std::vector<std::string>& values);

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

// The rows of one statement. Column access by index; text() borrows from the result.
class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* result) : result_(result) {}

  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return size() == 0; }
  std::int64_t affected() const;
  // The command tag, e.g. "INSERT 0 1" or "ROLLBACK".
  std::string_view command() const;

  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view text(int row, int column) const;
  std::string str(int row, int column) const { return std::string(text(row, column)); }
  std::optional<std::string> optional_str(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  std::optional<std::int64_t> optional_integer(int row, int column) const;
  bool boolean(int row, int column) const { return text(row, column) == "t"; }
  // bytea column, unescaped.
  std::string bytes(int row, int column) const;

 private:
  std::unique_ptr<PGresult, ResultDeleter> result_;
};

struct ConnectOptions {
  std::string dsn;                  // libpq URI or key=value string
  std::string schema;               // search_path; empty = server default
  std::string application_name = "paypipe";
  std::string password;             // from a Secret; empty = what the DSN says
  std::chrono::seconds connect_timeout{5};
  std::chrono::milliseconds statement_timeout{30000};
};

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

class Connection {
 public:
  static core::Result<Connection> connect(const ConnectOptions& options);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  template <typename... Args>
  core::Result<Rows> exec(std::string_view sql, const Args&... args) {
    const Param params[] = {to_param(args)..., std::nullopt};
    return exec_params(sql, std::span<const Param>(params, sizeof...(Args)));
  }
  core::Result<Rows> exec_params(std::string_view sql, std::span<const Param> params);

  // Several statements separated by ';' in one simple-protocol call. Only for our own
  // embedded migration files: it takes no parameters.
  core::Status execute_script(std::string_view sql);

  // Sends every statement in one round trip (libpq pipeline mode) and reads the
  // results in order. A failing statement makes the server skip the rest up to the
  // end of the pipeline; their slots then hold `aborted` errors, and a transaction
  // block opened in the pipeline is left aborted: the caller rolls it back. The
  // returned vector always has one entry per statement; the outer error is for a
  // broken connection.
  struct Statement {
    std::string_view sql;
    std::vector<Param> params;
  };
  core::Result<std::vector<core::Result<Rows>>> exec_pipeline(std::span<const Statement> statements);

  // LISTEN on a channel (an identifier of [a-z0-9_]).
  core::Status listen(std::string_view channel);
  // Waits up to `timeout` for a NOTIFY on a listened channel, or for `also_wake_fd`
  // (if >= 0) to become readable (the caller drains it). Returns true if at least one
  // notification arrived (all pending ones are consumed), false otherwise.
  core::Result<bool> wait_for_notification(std::chrono::milliseconds timeout, int also_wake_fd = -1);

  bool healthy() const;
  PGconn* native() { return conn_.get(); }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  core::Error error_of(const PGresult* result) const;

  std::unique_ptr<PGconn, ConnDeleter> conn_;
};

// A transaction on a borrowed connection: rolled back on destruction unless committed.
class Transaction {
 public:
  static core::Result<Transaction> begin(Connection& connection, std::string_view isolation = {});
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  template <typename... Args>
  core::Result<Rows> exec(std::string_view sql, const Args&... args) {
    return connection_->exec(sql, args...);
  }
  Connection& connection() { return *connection_; }

  // Savepoints isolate one item of a batch: its failure is rolled back alone.
  core::Status savepoint(std::string_view name);
  core::Status release(std::string_view name);
  core::Status rollback_to(std::string_view name);

  // Runs `hook` after a successful COMMIT (never after a rollback): how the outbox
  // wakes its relay once the rows are visible.
  void after_commit(std::function<void()> hook) { after_commit_.push_back(std::move(hook)); }

  core::Status commit();
  core::Status rollback();

 private:
  explicit Transaction(Connection& connection) : connection_(&connection) {}
  Connection* connection_;
  bool open_ = true;
  std::vector<std::function<void()>> after_commit_;
};

// An SQL expression formatting a timestamptz column as RFC 3339 UTC with milliseconds,
// the form core::parse_rfc3339 reads: rfc3339_sql("created_at").
std::string rfc3339_sql(std::string_view column);

// Quotes an SQL identifier (schema names from configuration).
std::string quote_identifier(std::string_view name);
// True for [a-z_][a-z0-9_]{0,62}: what we accept as a schema or channel name.
bool is_simple_identifier(std::string_view name);

}  // namespace paypipe::pg
