#include "pg/pg.hpp"

#include <poll.h>

#include <charconv>
#include <cstring>

#include "pg/array.hpp"

namespace paypipe::pg {

using core::ErrorCategory;
using core::make_error;

Param to_param(std::string_view value) { return std::string(value); }
Param to_param(std::int64_t value) { return std::to_string(value); }
Param to_param(bool value) { return std::string(value ? "true" : "false"); }
Param to_param(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}
Param to_param(Bytea value) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string text = "\\x";
  text.reserve(2 + 2 * value.bytes.size());
  for (const unsigned char c : value.bytes) {
    text.push_back(hex[c >> 4]);
    text.push_back(hex[c & 0xF]);
  }
  return text;
}
Param to_param(const std::vector<std::string>& values) {
  std::size_t bytes = 0;
  for (const auto& v : values) bytes += v.size();
  ArrayParam array(values.size(), values.empty() ? 0 : bytes / values.size());
  for (const auto& v : values) array.add(v);
  return std::move(array).take();
}

std::int64_t Rows::affected() const {
  if (!result_) return 0;
  const char* text = PQcmdTuples(result_.get());
  std::int64_t value = 0;
  std::from_chars(text, text + std::strlen(text), value);
  return value;
}

std::string_view Rows::command() const { return result_ ? PQcmdStatus(result_.get()) : ""; }

std::string_view Rows::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column), static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::optional<std::string> Rows::optional_str(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return str(row, column);
}

std::int64_t Rows::integer(int row, int column) const {
  const auto value = text(row, column);
  std::int64_t number = 0;
  std::from_chars(value.data(), value.data() + value.size(), number);
  return number;
}

std::optional<std::int64_t> Rows::optional_integer(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return integer(row, column);
}

std::string Rows::bytes(int row, int column) const {
  std::size_t length = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)),
                                       &length);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

std::string rfc3339_sql(std::string_view column) {
  return "to_char(" + std::string(column) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

bool is_simple_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
  for (const char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

core::Result<Connection> Connection::connect(const ConnectOptions& options) {
  if (!options.schema.empty() && !is_simple_identifier(options.schema)) {
    return make_error(ErrorCategory::invalid_input, "bad-schema", "schema name must match [a-z_][a-z0-9_]*");
  }
  std::string server_options = "-c statement_timeout=" + std::to_string(options.statement_timeout.count()) +
                               " -c client_min_messages=warning";
  if (!options.schema.empty()) server_options += " -c search_path=" + options.schema;
  const std::string timeout = std::to_string(options.connect_timeout.count());
  std::vector<const char*> keys{"dbname", "options", "application_name", "connect_timeout"};
  std::vector<const char*> values{options.dsn.c_str(), server_options.c_str(), options.application_name.c_str(),
                                  timeout.c_str()};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  Connection connection(raw);
  if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
    std::string message = raw ? PQerrorMessage(raw) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return make_error(ErrorCategory::unavailable, "pg-connect", "cannot connect to PostgreSQL: " + message);
  }
  return connection;
}

bool Connection::healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK && !server_read_only_; }

core::Status Connection::check_writable() {
  auto rows = exec("SELECT current_setting('transaction_read_only')");
  if (!rows) return rows.error();
  if (rows->text(0, 0) == "on") {
    server_read_only_ = true;
    return make_error(ErrorCategory::unavailable, "pg-read-only",
                      "the PostgreSQL server takes no writes (a standby, or a primary fenced after a failover)");
  }
  return {};
}

core::Error Connection::error_of(const PGresult* result) const {
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  // 25006: a write on a read-only server. After a failover the pool may still reach the
  // old primary: an outage to wait out on a new connection, not a failure of the request.
  if (sqlstate == "25006") server_read_only_ = true;
  if (PQstatus(conn_.get()) != CONNECTION_OK || sqlstate == "25006" || sqlstate.empty() ||
      sqlstate.rfind("08", 0) == 0 || sqlstate == "40001" || sqlstate == "40P01" || sqlstate.rfind("57P", 0) == 0 ||
      sqlstate == "55P03" || sqlstate == "57014" || sqlstate == "53300") {
    return make_error(ErrorCategory::unavailable, "pg-" + (sqlstate.empty() ? std::string("connection") : sqlstate),
                      message);
  }
  if (sqlstate == "23505" || sqlstate == "23514" || sqlstate == "23503" || sqlstate == "23P01") {
    const char* constraint = result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    const char* kind = sqlstate == "23505"   ? "unique-violation:"
                       : sqlstate == "23514" ? "check-violation:"
                                             : "constraint-violation:";
    return make_error(ErrorCategory::conflict, kind + std::string(constraint ? constraint : ""), message);
  }
  if (sqlstate == "22P02" || sqlstate == "22003" || sqlstate == "22001") {
    return make_error(ErrorCategory::invalid_input, "pg-" + sqlstate, message);
  }
  return make_error(ErrorCategory::internal, "pg-" + sqlstate, message);
}

core::Result<Rows> Connection::exec_params(std::string_view sql, std::span<const Param> params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string text(sql);
  PGresult* raw = PQexecParams(conn_.get(), text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  Rows rows(raw);
  const auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return error_of(raw);
  return rows;
}

core::Status Connection::execute_script(std::string_view sql) {
  const std::string text(sql);
  PGresult* raw = PQexec(conn_.get(), text.c_str());
  Rows rows(raw);
  const auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return error_of(raw);
  return {};
}

core::Status Connection::listen(std::string_view channel) {
  if (!is_simple_identifier(channel)) {
    return make_error(ErrorCategory::invalid_input, "bad-channel", "channel name must match [a-z_][a-z0-9_]*");
  }
  auto result = exec("LISTEN " + std::string(channel));
  if (!result) return result.error();
  return {};
}

core::Result<bool> Connection::wait_for_notification(std::chrono::milliseconds timeout, int also_wake_fd) {
  PGconn* conn = conn_.get();
  auto drain = [conn]() {
    bool any = false;
    while (PGnotify* notify = PQnotifies(conn)) {
      any = true;
      PQfreemem(notify);
    }
    return any;
  };
  if (PQconsumeInput(conn) != 1) return error_of(nullptr);
  if (drain()) return true;
  pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {also_wake_fd, POLLIN, 0}};
  const int ready = ::poll(fds, also_wake_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
  if (ready < 0) {
    return make_error(ErrorCategory::unavailable, "pg-poll", std::string("poll failed: ") + std::strerror(errno));
  }
  if (ready == 0 || (fds[0].revents & POLLIN) == 0) return false;
  if (PQconsumeInput(conn) != 1) return error_of(nullptr);
  return drain();
}

void CommitHooks::savepoint(std::string_view name) { savepoints_.emplace_back(std::string(name), hooks_.size()); }

void CommitHooks::release(std::string_view name) {
  // RELEASE also ends every savepoint taken after it; the hooks stay with the transaction.
  for (std::size_t i = savepoints_.size(); i-- > 0;) {
    if (savepoints_[i].first == name) {
      savepoints_.resize(i);
      return;
    }
  }
}

void CommitHooks::rollback_to(std::string_view name) {
  // The savepoint itself stays (PostgreSQL keeps it); later ones end.
  for (std::size_t i = savepoints_.size(); i-- > 0;) {
    if (savepoints_[i].first == name) {
      hooks_.resize(savepoints_[i].second);
      savepoints_.resize(i + 1);
      return;
    }
  }
}

void CommitHooks::run() {
  auto hooks = std::move(hooks_);
  hooks_.clear();
  savepoints_.clear();
  for (auto& hook : hooks) hook();
}

core::Result<Transaction> Transaction::begin(Connection& connection, std::string_view isolation) {
  auto result = isolation.empty() ? connection.exec("BEGIN")
                                  : connection.exec("BEGIN ISOLATION LEVEL " + std::string(isolation));
  if (!result) return result.error();
  return Transaction(connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(other.connection_), open_(other.open_), hooks_(std::move(other.hooks_)) {
  other.open_ = false;
}

Transaction::~Transaction() {
  if (open_) (void)rollback();
}

core::Status Transaction::savepoint(std::string_view name) {
  auto r = connection_->exec("SAVEPOINT " + std::string(name));
  if (!r) return r.error();
  hooks_.savepoint(name);
  return {};
}

core::Status Transaction::release(std::string_view name) {
  auto r = connection_->exec("RELEASE SAVEPOINT " + std::string(name));
  if (!r) return r.error();
  hooks_.release(name);
  return {};
}

core::Status Transaction::rollback_to(std::string_view name) {
  hooks_.rollback_to(name);  // whatever follows, what they announce is undone
  auto r = connection_->exec("ROLLBACK TO SAVEPOINT " + std::string(name));
  if (!r) return r.error();
  return {};
}

core::Status Transaction::commit() {
  open_ = false;
  auto r = connection_->exec("COMMIT");
  if (!r) return r.error();
  // COMMIT of a transaction that had failed answers "ROLLBACK", not an error.
  if (r->command() == "ROLLBACK") {
    return make_error(ErrorCategory::internal, "pg-transaction-aborted",
                      "the transaction had failed and was rolled back at COMMIT");
  }
  hooks_.run();
  return {};
}

core::Status Transaction::rollback() {
  open_ = false;
  auto r = connection_->exec("ROLLBACK");
  if (!r) return r.error();
  return {};
}

Pipeline::Pipeline(Connection& connection, Mode mode, Transaction* owner, std::string begin_sql)
    : connection_(&connection), mode_(mode), owner_(owner), begin_sql_(std::move(begin_sql)) {}

Pipeline Pipeline::begin(Connection& connection, std::string_view isolation) {
  return Pipeline(connection, Mode::own, nullptr,
                  isolation.empty() ? std::string("BEGIN") : "BEGIN ISOLATION LEVEL " + std::string(isolation));
}

Pipeline Pipeline::within(Transaction& tx) { return Pipeline(tx.connection(), Mode::within, &tx, {}); }

Pipeline Pipeline::autocommit(Connection& connection) { return Pipeline(connection, Mode::autocommit, nullptr, {}); }

Pipeline::Pipeline(Pipeline&& other) noexcept
    : connection_(other.connection_),
      mode_(other.mode_),
      owner_(other.owner_),
      begin_sql_(std::move(other.begin_sql_)),
      state_(other.state_),
      queued_(std::move(other.queued_)),
      results_(std::move(other.results_)),
      hooks_(std::move(other.hooks_)) {
  other.state_ = State::done;
}

Pipeline::~Pipeline() {
  // Nothing sent, nothing to undo; the other modes have no transaction of their own.
  if (mode_ == Mode::own && state_ != State::done && begin_sql_.empty()) (void)connection_->exec("ROLLBACK");
}

Pipeline::Handle Pipeline::add(Connection::Statement statement) { return add(std::move(statement), nullptr); }

Pipeline::Handle Pipeline::add(Connection::Statement statement, std::function<void(const Rows&)> on_rows) {
  queued_.push_back(Queued{std::string(statement.sql), std::move(statement.params), std::move(on_rows)});
  results_.emplace_back();
  return Handle(results_.size() - 1);
}

const Rows& Pipeline::rows(Handle handle) const {
  static const Rows none;
  return ran(handle) ? *results_[handle.index_] : none;
}

void Pipeline::savepoint(std::string_view name) {
  (void)add("SAVEPOINT " + std::string(name));
  hooks().savepoint(name);
}

void Pipeline::release(std::string_view name) {
  (void)add("RELEASE SAVEPOINT " + std::string(name));
  hooks().release(name);
}

core::Status Pipeline::rollback_to(std::string_view name) {
  if (state_ == State::done) return refusal();
  hooks().rollback_to(name);
  // A savepoint still in the queue: what was queued after it is simply never sent.
  const std::string savepoint = "SAVEPOINT " + std::string(name);
  for (std::size_t i = queued_.size(); i-- > 0;) {
    if (queued_[i].sql == savepoint) {
      queued_.resize(i + 1);
      return {};
    }
  }
  queued_.clear();
  auto undone = connection_->exec("ROLLBACK TO " + savepoint);
  if (!undone) return undone.error();
  state_ = State::open;
  return {};
}

void Pipeline::after_commit(std::function<void()> hook) {
  if (mode_ != Mode::autocommit) hooks().add(std::move(hook));
}

core::Status Pipeline::refusal() const {
  return state_ == State::failed
             ? make_error(ErrorCategory::internal, "pg-transaction-aborted",
                          "a statement of this transaction failed; roll back (to a savepoint) first")
             : make_error(ErrorCategory::internal, "pg-transaction-closed", "this transaction is over");
}

core::Status Pipeline::flush() {
  if (state_ != State::open) {
    queued_.clear();
    return refusal();
  }
  if (queued_.empty()) return {};
  return send(false);
}

core::Status Pipeline::commit() {
  if (mode_ != Mode::own) {
    return make_error(ErrorCategory::internal, "pg-pipeline-not-owner",
                      "this pipeline has no transaction of its own to commit");
  }
  if (state_ != State::open) return refusal();
  if (auto sent = send(true); !sent) return sent;
  state_ = State::done;
  hooks_.run();
  return {};
}

core::Status Pipeline::send(bool commit) {
  PGconn* conn = connection_->conn_.get();
  const std::size_t first = results_.size() - queued_.size();
  const bool with_begin = !begin_sql_.empty();
  auto fail = [this](core::Error error) -> core::Status {
    queued_.clear();
    begin_sql_.clear();  // BEGIN may have run: the destructor rolls back
    // Autocommit: the server ended the batch's implicit transaction, nothing stays aborted.
    if (mode_ != Mode::autocommit) state_ = State::failed;
    return error;
  };
  if (PQenterPipelineMode(conn) != 1) {
    return fail(make_error(ErrorCategory::unavailable, "pg-pipeline", "cannot enter pipeline mode"));
  }
  std::vector<const char*> values;
  auto send_one = [&](const std::string& sql, const std::vector<Param>& params) {
    values.clear();
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                             nullptr, 0) == 1;
  };
  static const std::string commit_sql = "COMMIT";
  static const std::vector<Param> no_params;
  bool sent = !with_begin || send_one(begin_sql_, no_params);
  for (std::size_t i = 0; sent && i < queued_.size(); ++i) sent = send_one(queued_[i].sql, queued_[i].params);
  if (sent && commit) sent = send_one(commit_sql, no_params);
  if (!sent || PQpipelineSync(conn) != 1) {
    auto error = connection_->error_of(nullptr);
    PQexitPipelineMode(conn);
    return fail(std::move(error));
  }
  // Answers in order: each statement's result then a NULL; the sync's last.
  const std::size_t expected = queued_.size() + (with_begin ? 1 : 0) + (commit ? 1 : 0);
  std::optional<core::Error> first_error;
  std::string commit_answer;
  for (std::size_t answered = 0; answered < expected;) {
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) {
      if (PQstatus(conn) != CONNECTION_OK) return fail(connection_->error_of(nullptr));
      continue;  // the end of one statement's results
    }
    Rows rows(raw);
    const auto status = PQresultStatus(raw);
    const std::size_t at = answered++;
    if (status == PGRES_PIPELINE_ABORTED) continue;  // skipped after the first error
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      if (!first_error) first_error = connection_->error_of(raw);
      continue;
    }
    if (with_begin && at == 0) continue;  // BEGIN
    const std::size_t statement = with_begin ? at - 1 : at;
    if (statement < queued_.size()) {
      results_[first + statement] = std::move(rows);
      if (queued_[statement].on_rows) queued_[statement].on_rows(*results_[first + statement]);
    } else {
      commit_answer = std::string(rows.command());
    }
  }
  for (;;) {  // to the sync point
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) {
      if (PQstatus(conn) != CONNECTION_OK) return fail(connection_->error_of(nullptr));
      continue;
    }
    const bool sync = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
    PQclear(raw);
    if (sync) break;
  }
  PQexitPipelineMode(conn);
  if (with_begin) begin_sql_.clear();
  queued_.clear();
  if (first_error) return fail(std::move(*first_error));
  // COMMIT of a transaction that had failed answers "ROLLBACK", not an error.
  if (commit && commit_answer == "ROLLBACK") {
    state_ = State::done;
    return make_error(ErrorCategory::unavailable, "pg-commit-failed",
                      "the transaction had failed and was rolled back at COMMIT; retry");
  }
  return {};
}

bool is_unique_violation(const core::Error& error, std::string_view constraint) {
  constexpr std::string_view prefix = "unique-violation:";
  return error.category == ErrorCategory::conflict && error.code.size() == prefix.size() + constraint.size() &&
         error.code.starts_with(prefix) && error.code.ends_with(constraint);
}

}  // namespace paypipe::pg
