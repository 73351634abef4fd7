#include "core/uuid.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace paypipe::core;

TEST_CASE("UUID v7 is canonical, versioned, unique and time-ordered") {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    const auto id = new_uuid_v7();
    REQUIRE(is_uuid(id));
    CHECK(id[14] == '7');
    CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    CHECK(seen.insert(id).second);
    CHECK(id.substr(0, 13) >= previous.substr(0, std::min<std::size_t>(13, previous.size())));
    previous = id;
  }
}

TEST_CASE("is_uuid rejects near misses") {
  CHECK(is_uuid("0190a6b2-7c3e-7abc-8def-0123456789ab"));
  CHECK(is_uuid("0190A6B2-7C3E-7ABC-8DEF-0123456789AB"));
  CHECK_FALSE(is_uuid("0190a6b2-7c3e-7abc-8def-0123456789a"));
  CHECK_FALSE(is_uuid("0190a6b2x7c3e-7abc-8def-0123456789ab"));
  CHECK_FALSE(is_uuid("0190a6b2-7c3e-7abc-8def-0123456789ag"));
}
