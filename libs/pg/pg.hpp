#pragma once
// PostgreSQL through libpq: owning wrappers, parameterised statements only.
//
// Every statement goes through exec(sql, args...) with $1..$n placeholders; values are
// sent separately from the SQL text, so no value is ever spliced into SQL. The one
// exception, execute_script, runs the trusted migration files embedded in our binaries.
//
// Errors come back as core::Error: connection loss, serialization failures, deadlocks
// and shutdowns are `unavailable` (retryable); unique and check violations are
// `conflict` with code "unique-violation:<constraint>" (test with is_unique_violation);
// the rest is `internal`.
// Nothing here throws.
//
// Threading: a Connection is used by one thread at a time; the Pool is thread-safe.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <deque>
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

  // A statement with its parameters, queued in a Pipeline. `sql` is borrowed (a
  // literal or a static string); the Pipeline copies it when it is queued.
  struct Statement {
    std::string_view sql;
    std::vector<Param> params;
  };

  // LISTEN on a channel (an identifier of [a-z0-9_]).
  core::Status listen(std::string_view channel);
  // Waits up to `timeout` for a NOTIFY on a listened channel, or for `also_wake_fd`
  // (if >= 0) to become readable (the caller drains it). Returns true if at least one
  // notification arrived (all pending ones are consumed), false otherwise.
  core::Result<bool> wait_for_notification(std::chrono::milliseconds timeout, int also_wake_fd = -1);

  // False once the connection broke, or once its server refused a write as read-only
  // (after a failover the old primary may answer as a standby): neither is kept by a pool.
  bool healthy() const;
  // Asks the server whether this session may write (transaction_read_only); a
  // read-only server is an outage (`unavailable`, code "pg-read-only") and the
  // connection is no longer healthy.
  core::Status check_writable();
  // The server process serving this connection (pg_terminate_backend in tests).
  int backend_pid() const { return PQbackendPID(conn_.get()); }
  // For libs/pg itself (the pool's liveness probe); services use the calls above.
  PGconn* native() { return conn_.get(); }

 private:
  friend class Pipeline;
  explicit Connection(PGconn* conn) : conn_(conn) {}
  core::Error error_of(const PGresult* result) const;

  std::unique_ptr<PGconn, ConnDeleter> conn_;
  // Set by error_of() on SQLSTATE 25006 (a write refused by a read-only server).
  mutable bool server_read_only_ = false;
};

// The after_commit() hooks of one transaction. A hook registered after a savepoint is
// dropped when the transaction rolls back to it: what it announces was undone (the
// outbox hands its committed events to Kafka from such a hook).
class CommitHooks {
 public:
  void add(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }
  void savepoint(std::string_view name);
  void release(std::string_view name);
  void rollback_to(std::string_view name);
  void run();  // once, after COMMIT

 private:
  std::vector<std::function<void()>> hooks_;
  std::vector<std::pair<std::string, std::size_t>> savepoints_;  // name, hooks_.size() then
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

  // Runs `hook` after a successful COMMIT (never after a rollback, nor when the
  // transaction rolls back to a savepoint taken before it was registered): how the
  // outbox hands committed events to Kafka and wakes its relay.
  void after_commit(std::function<void()> hook) { hooks_.add(std::move(hook)); }

  core::Status commit();
  core::Status rollback();

 private:
  friend class Pipeline;
  explicit Transaction(Connection& connection) : connection_(&connection) {}
  Connection* connection_;
  bool open_ = true;
  CommitHooks hooks_;
};

// A transaction whose statements travel in batches, one network round trip per batch
// (libpq pipeline mode). add() queues a statement and returns a Handle on its result;
// flush() sends what is queued and reads every answer; commit() sends the rest with
// COMMIT. BEGIN travels with the first batch. Dropped before a successful commit(),
// the transaction is rolled back.
//
// Errors: the first statement of a batch that fails makes the server skip the rest of
// that batch. flush() (or commit()) reports that statement's error, once; the
// transaction is then aborted and every later flush() or commit() is refused without
// a round trip ("pg-transaction-aborted"), until rollback_to() a savepoint queued
// before the failure. A broken connection is reported the same way.
//
// Results: rows(handle) once the batch that carried the statement was sent. A
// statement that failed or was skipped has no rows; one that succeeded keeps its rows
// even when a later statement of its batch failed (how a caller tells why it failed).
//
// Two more ways to batch, neither with BEGIN nor a rollback of its own:
//   within(tx)     inside a Transaction someone else owns (a consumer runtime's): the
//                  commit or rollback stays the Transaction's;
//   autocommit(c)  outside any transaction block: each batch commits on its own
//                  (PostgreSQL's implicit transaction of a pipeline), for reads that
//                  lock nothing. A failed batch leaves nothing to undo and refuses
//                  nothing after it; after_commit() hooks never run.
class Pipeline {
 public:
  // One queued statement's result.
  class Handle {
   public:
    Handle() = default;

   private:
    friend class Pipeline;
    explicit Handle(std::size_t index) : index_(index) {}
    std::size_t index_ = static_cast<std::size_t>(-1);
  };

  static Pipeline begin(Connection& connection, std::string_view isolation = {});
  static Pipeline within(Transaction& tx);
  static Pipeline autocommit(Connection& connection);
  Pipeline(Pipeline&& other) noexcept;
  Pipeline& operator=(Pipeline&&) = delete;
  ~Pipeline();

  template <typename... Args>
  Handle add(std::string_view sql, const Args&... args) {
    std::vector<Param> params;
    params.reserve(sizeof...(Args));
    (params.push_back(to_param(args)), ...);
    return add(Connection::Statement{sql, std::move(params)});
  }
  Handle add(Connection::Statement statement);
  // Also calls `on_rows` with the statement's rows as soon as it ran (inside the
  // flush() or commit() that sent it).
  Handle add(Connection::Statement statement, std::function<void(const Rows&)> on_rows);

  // Sends what is queued in one round trip; the first error of the batch, if any.
  core::Status flush();
  // One statement whose rows decide what comes next: queued, then flushed with
  // whatever was queued before it.
  template <typename... Args>
  core::Result<Rows> exec(std::string_view sql, const Args&... args) {
    const auto handle = add(sql, args...);
    if (auto sent = flush(); !sent) return sent.error();
    return std::move(*results_[handle.index_]);
  }
  // True once the statement ran: its batch was sent and it neither failed nor was skipped.
  bool ran(Handle handle) const { return handle.index_ < results_.size() && results_[handle.index_].has_value(); }
  // Its rows; none unless ran().
  const Rows& rows(Handle handle) const;

  // Savepoints isolate one item of a batch: savepoint() and release() are queued;
  // rollback_to() drops what is queued and returns the transaction to the savepoint at
  // once (one round trip), clearing an earlier failure.
  void savepoint(std::string_view name);
  void release(std::string_view name);
  core::Status rollback_to(std::string_view name);

  // Runs `hook` after a successful COMMIT (never after a rollback, nor after a
  // rollback_to() a savepoint queued before it was registered).
  void after_commit(std::function<void()> hook);
  // Sends what is queued with COMMIT. Only a Pipeline made by begin() commits.
  core::Status commit();

 private:
  struct Queued {
    std::string sql;
    std::vector<Param> params;
    std::function<void(const Rows&)> on_rows;
  };
  enum class Mode { own, within, autocommit };
  enum class State { open, failed, done };

  Pipeline(Connection& connection, Mode mode, Transaction* owner, std::string begin_sql);
  // Sends BEGIN if not sent yet, the queue, and COMMIT when `commit`, in one round trip.
  core::Status send(bool commit);
  core::Status refusal() const;
  // The transaction's hooks: its own, or those of the Transaction it runs within.
  CommitHooks& hooks() { return mode_ == Mode::within ? owner_->hooks_ : hooks_; }

  Connection* connection_;
  Mode mode_;
  Transaction* owner_;     // within(): the transaction that commits
  std::string begin_sql_;  // own: until BEGIN is sent
  State state_ = State::open;
  std::vector<Queued> queued_;
  // By handle index (a deque: rows() references stay valid); nullopt until the
  // statement ran. The last queued_.size() are not sent yet.
  std::deque<std::optional<Rows>> results_;
  CommitHooks hooks_;
};

// Typed checks on errors from this library.
// True for a unique violation of `constraint` (another transaction inserted the key).
bool is_unique_violation(const core::Error& error, std::string_view constraint);

// An SQL expression formatting a timestamptz column as RFC 3339 UTC with milliseconds,
// the form core::parse_rfc3339 reads: rfc3339_sql("created_at").
std::string rfc3339_sql(std::string_view column);

// Quotes an SQL identifier (schema names from configuration).
std::string quote_identifier(std::string_view name);
// True for [a-z_][a-z0-9_]{0,62}: what we accept as a schema or channel name.
bool is_simple_identifier(std::string_view name);

}  // namespace paypipe::pg
