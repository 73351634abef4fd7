#pragma once
// A PostgreSQL schema of one test's own on the shared stack: created with a unique name
// (migrated when given migrations), and dropped with everything in it at the end. Test
// fixtures derive from it so that `schema` and `connection` read as their own members;
// as a base it is built before their pools and dropped after them.

#include <span>
#include <string>
#include <string_view>

#include "core/embedded.hpp"
#include "pg/pg.hpp"

namespace paypipe::testing {

class FreshSchema {
 public:
  // `prefix` starts the unique name ("orders" -> "orders_<12 hex>"). With no
  // migrations the schema is created empty.
  explicit FreshSchema(std::string_view prefix, std::span<const core::EmbeddedFile> migrations = {});
  ~FreshSchema();
  FreshSchema(const FreshSchema&) = delete;
  FreshSchema& operator=(const FreshSchema&) = delete;

  const std::string schema;
  pg::Connection connection;  // search_path is `schema`
};

}  // namespace paypipe::testing
