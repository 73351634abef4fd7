#include "support/fresh_schema.hpp"

#include <stdexcept>

#include "pg/migrate.hpp"
#include "support/stack.hpp"

namespace paypipe::testing {

FreshSchema::FreshSchema(std::string_view prefix, std::span<const core::EmbeddedFile> migrations)
    : schema(unique_name(prefix)), connection(connect(schema)) {
  // Thrown rather than REQUIREd: a fixture's constructor runs inside the test case,
  // where Catch2 reports the exception with its message just the same.
  if (migrations.empty()) {
    if (auto created = connection.exec("CREATE SCHEMA " + schema); !created) {
      throw std::runtime_error("CREATE SCHEMA " + schema + ": " + created.error().message);
    }
  } else if (auto migrated = pg::migrate(connection, schema, migrations); !migrated) {
    throw std::runtime_error("migrating " + schema + ": " + migrated.error().message);
  }
}

FreshSchema::~FreshSchema() { (void)connection.exec("DROP SCHEMA " + schema + " CASCADE"); }

}  // namespace paypipe::testing
