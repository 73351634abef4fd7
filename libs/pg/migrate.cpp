#include "pg/migrate.hpp"

#include <algorithm>
#include <set>
#include <spdlog/spdlog.h>
#include <vector>

namespace paypipe::pg {

namespace {

std::vector<core::EmbeddedFile> sorted(std::span<const core::EmbeddedFile> files) {
  std::vector<core::EmbeddedFile> out(files.begin(), files.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

core::Result<std::set<std::string>> applied_versions(Connection& connection) {
  auto exists = connection.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) return exists.error();
  std::set<std::string> versions;
  if (!exists->boolean(0, 0)) return versions;
  auto rows = connection.exec("SELECT version FROM schema_migrations");
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) versions.insert(rows->str(i, 0));
  return versions;
}

}  // namespace

core::Status migrate(Connection& connection, std::string_view schema, std::span<const core::EmbeddedFile> files) {
  if (!is_simple_identifier(schema)) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-schema", "schema must match [a-z_][a-z0-9_]*");
  }
  const std::string lock_key = "paypipe.migrate." + std::string(schema);
  if (auto r = connection.exec("SELECT pg_advisory_lock(hashtext($1))", lock_key); !r) return r.error();
  // Released on every path below, including errors.
  struct Unlock {
    Connection& connection;
    const std::string& key;
    ~Unlock() { (void)connection.exec("SELECT pg_advisory_unlock(hashtext($1))", key); }
  } unlock{connection, lock_key};

  if (auto r = connection.exec("CREATE SCHEMA IF NOT EXISTS " + quote_identifier(schema)); !r) return r.error();
  if (auto r = connection.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                               " version text PRIMARY KEY,"
                               " applied_at timestamptz NOT NULL DEFAULT now())");
      !r) {
    return r.error();
  }
  auto applied = applied_versions(connection);
  if (!applied) return applied.error();
  for (const auto& file : sorted(files)) {
    const std::string version(file.name);
    if (applied->count(version)) continue;
    auto tx = Transaction::begin(connection);
    if (!tx) return tx.error();
    if (auto s = connection.execute_script(file.content); !s) {
      return core::make_error(s.error().category, s.error().code,
                              "migration " + version + " failed: " + s.error().message);
    }
    if (auto r = tx->exec("INSERT INTO schema_migrations (version) VALUES ($1)", version); !r) return r.error();
    if (auto s = tx->commit(); !s) return s;
    spdlog::info("applied migration {} to schema {}", version, schema);
  }
  return {};
}

core::Result<bool> migrations_applied(Connection& connection, std::span<const core::EmbeddedFile> files) {
  auto applied = applied_versions(connection);
  if (!applied) return applied.error();
  return std::all_of(files.begin(), files.end(),
                     [&](const auto& f) { return applied->count(std::string(f.name)) != 0; });
}

}  // namespace paypipe::pg
