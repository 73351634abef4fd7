#include "pg/pg.hpp"

#include <poll.h>

#include <charconv>
#include <cstring>

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
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) text.push_back(',');
    text.push_back('"');
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') text.push_back('\\');
      text.push_back(c);
    }
    text.push_back('"');
  }
  text.push_back('}');
  return text;
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
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
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
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
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

bool Connection::healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

core::Error Connection::error_of(const PGresult* result) const {
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  if (PQstatus(conn_.get()) != CONNECTION_OK || sqlstate.empty() || sqlstate.rfind("08", 0) == 0 ||
      sqlstate == "40001" || sqlstate == "40P01" || sqlstate.rfind("57P", 0) == 0 || sqlstate == "55P03" ||
      sqlstate == "57014" || sqlstate == "53300") {
    return make_error(ErrorCategory::unavailable, "pg-" + (sqlstate.empty() ? std::string("connection") : sqlstate),
                      message);
  }
  if (sqlstate == "23505" || sqlstate == "23514" || sqlstate == "23503" || sqlstate == "23P01") {
    const char* constraint = result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    const char* kind = sqlstate == "23505" ? "unique-violation:" : sqlstate == "23514" ? "check-violation:"
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

core::Result<std::vector<core::Result<Rows>>> Connection::exec_pipeline(std::span<const Statement> statements) {
  PGconn* conn = conn_.get();
  if (PQenterPipelineMode(conn) != 1) {
    return make_error(ErrorCategory::unavailable, "pg-pipeline", "cannot enter pipeline mode");
  }
  std::vector<std::string> texts;
  texts.reserve(statements.size());
  for (const auto& statement : statements) {
    texts.emplace_back(statement.sql);
    std::vector<const char*> values;
    values.reserve(statement.params.size());
    for (const auto& p : statement.params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryParams(conn, texts.back().c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0) != 1) {
      auto error = error_of(nullptr);
      PQexitPipelineMode(conn);
      return error;
    }
  }
  if (PQpipelineSync(conn) != 1) {
    auto error = error_of(nullptr);
    return error;
  }
  std::vector<core::Result<Rows>> results;
  results.reserve(statements.size());
  // Each statement yields its result then a NULL; the sync yields PGRES_PIPELINE_SYNC.
  while (results.size() < statements.size()) {
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) {
      if (PQstatus(conn) != CONNECTION_OK) return error_of(nullptr);
      continue;  // end of one statement's results
    }
    Rows rows(raw);
    const auto status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      results.emplace_back(std::move(rows));
    } else if (status == PGRES_PIPELINE_ABORTED) {
      results.emplace_back(make_error(ErrorCategory::unavailable, "pg-pipeline-aborted",
                                      "skipped: an earlier statement in the pipeline failed"));
    } else {
      results.emplace_back(error_of(raw));
    }
  }
  // Drain to the sync point, then leave pipeline mode.
  for (;;) {
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) {
      if (PQstatus(conn) != CONNECTION_OK) return error_of(nullptr);
      continue;
    }
    const bool sync = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
    PQclear(raw);
    if (sync) break;
  }
  PQexitPipelineMode(conn);
  return results;
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

core::Result<Transaction> Transaction::begin(Connection& connection, std::string_view isolation) {
  auto result = isolation.empty() ? connection.exec("BEGIN")
                                  : connection.exec("BEGIN ISOLATION LEVEL " + std::string(isolation));
  if (!result) return result.error();
  return Transaction(connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(other.connection_), open_(other.open_), after_commit_(std::move(other.after_commit_)) {
  other.open_ = false;
}

Transaction::~Transaction() {
  if (open_) (void)rollback();
}

core::Status Transaction::savepoint(std::string_view name) {
  auto r = connection_->exec("SAVEPOINT " + std::string(name));
  if (!r) return r.error();
  return {};
}

core::Status Transaction::release(std::string_view name) {
  auto r = connection_->exec("RELEASE SAVEPOINT " + std::string(name));
  if (!r) return r.error();
  return {};
}

core::Status Transaction::rollback_to(std::string_view name) {
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
  for (auto& hook : after_commit_) hook();
  after_commit_.clear();
  return {};
}

core::Status Transaction::rollback() {
  open_ = false;
  auto r = connection_->exec("ROLLBACK");
  if (!r) return r.error();
  return {};
}

}  // namespace paypipe::pg
