#pragma once
// A fresh schema for one test, dropped at the end, with a connection into it.
#include <catch2/catch.hpp>

#include <string>

#include "pg/pg.hpp"
#include "support/stack.hpp"

namespace paypipe::testing {

struct ScratchSchema {
  std::string name = unique_name("pgtest");
  pg::Connection connection = connect(name);
  ScratchSchema() { REQUIRE(connection.exec("CREATE SCHEMA " + name).ok()); }
  ~ScratchSchema() { (void)connection.exec("DROP SCHEMA " + name + " CASCADE"); }
};

}  // namespace paypipe::testing
