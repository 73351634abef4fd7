#pragma once
// Per-service schema migrations: the SQL files under services/<name>/migrations/,
// embedded in the binary, applied in name order at start-up (and by `<daemon> migrate`,
// the Helm hook). Replicas starting together serialise on an advisory lock keyed by the
// schema; each file runs in its own transaction and is recorded in schema_migrations.

#include <span>
#include <string_view>

#include "core/embedded.hpp"
#include "pg/pg.hpp"

namespace paypipe::pg {

// Creates `schema` if needed and applies the files not yet recorded there. The
// connection's search_path must be `schema` (ConnectOptions::schema).
core::Status migrate(Connection& connection, std::string_view schema, std::span<const core::EmbeddedFile> files);

// True when every file is recorded: what /readyz checks.
core::Result<bool> migrations_applied(Connection& connection, std::span<const core::EmbeddedFile> files);

}  // namespace paypipe::pg
