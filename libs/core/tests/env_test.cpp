#include "core/env.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using paypipe::core::Env;
using namespace std::chrono_literals;

TEST_CASE("Env reads typed values with defaults") {
  Env env({{"PAYPIPE_A", "x"},
           {"PAYPIPE_N", "42"},
           {"PAYPIPE_F", "true"},
           {"PAYPIPE_MS", "250"},
           {"PAYPIPE_P", "security.protocol=SASL_SSL;sasl.mechanisms=PLAIN"},
           {"PAYPIPE_L", "a, b,,c"}});
  CHECK(env.text("PAYPIPE_A", "d") == "x");
  CHECK(env.text("PAYPIPE_MISSING", "d") == "d");
  CHECK(env.integer("PAYPIPE_N", 1, 0, 100) == 42);
  CHECK(env.flag("PAYPIPE_F", false));
  CHECK(env.millis("PAYPIPE_MS", 1s, 0ms, 10s) == 250ms);
  const auto props = env.properties("PAYPIPE_P");
  CHECK(props.at("security.protocol") == "SASL_SSL");
  CHECK(props.at("sasl.mechanisms") == "PLAIN");
  CHECK(env.list("PAYPIPE_L", {}) == std::vector<std::string>{"a", "b", "c"});
  CHECK(env.finish().ok());
}

TEST_CASE("Env reports every bad and unknown variable at once, by name") {
  Env env({{"PAYPIPE_N", "abc"},
           {"PAYPIPE_RANGE", "500"},
           {"PAYPIPE_TYPO", "1"},
           {"PAYPIPE_C", "z"},
           {"PAYPIPE_SECRET", "hunter2"}});
  env.integer("PAYPIPE_N", 1, 0, 10);
  env.integer("PAYPIPE_RANGE", 1, 0, 10);
  env.choice("PAYPIPE_C", "a", {"a", "b"});
  env.required_text("PAYPIPE_REQUIRED");
  env.secret("PAYPIPE_SECRET");
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  CHECK(m.find("PAYPIPE_N: must be an integer") != std::string::npos);
  CHECK(m.find("PAYPIPE_RANGE: must be between 0 and 10") != std::string::npos);
  CHECK(m.find("PAYPIPE_C: must be one of a, b") != std::string::npos);
  CHECK(m.find("PAYPIPE_REQUIRED: is required") != std::string::npos);
  CHECK(m.find("PAYPIPE_TYPO: unknown variable") != std::string::npos);
  CHECK(m.find("hunter2") == std::string::npos);
}

TEST_CASE("a tool may ignore variables meant for others but not bad values") {
  Env env({{"PAYPIPE_OTHER", "x"}, {"PAYPIPE_N", "bad"}});
  env.integer("PAYPIPE_N", 1, 0, 10);
  const auto status = env.finish(false);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_OTHER") == std::string::npos);
  CHECK(status.error().message.find("PAYPIPE_N") != std::string::npos);
}

TEST_CASE("Env reads decimals and keeps warnings apart from errors") {
  Env env({{"PAYPIPE_X", "1.5"}, {"PAYPIPE_WHOLE", "2"}, {"PAYPIPE_BAD", "two"}, {"PAYPIPE_HIGH", "11.0"}});
  CHECK(env.decimal("PAYPIPE_X", 1.0, 1.0, 10.0) == 1.5);
  CHECK(env.decimal("PAYPIPE_WHOLE", 1.0, 1.0, 10.0) == 2.0);
  CHECK(env.decimal("PAYPIPE_MISSING", 1.25, 1.0, 10.0) == 1.25);
  CHECK(env.decimal("PAYPIPE_BAD", 1.0, 1.0, 10.0) == 1.0);
  CHECK(env.decimal("PAYPIPE_HIGH", 1.0, 1.0, 10.0) == 1.0);
  env.warn("PAYPIPE_OLD", "deprecated");
  REQUIRE(env.warnings() == std::vector<std::string>{"PAYPIPE_OLD: deprecated"});
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  CHECK(m.find("PAYPIPE_BAD: must be a decimal number such as 1.5, got \"two\"") != std::string::npos);
  CHECK(m.find("PAYPIPE_HIGH: must be between 1 and 10, got 11.0") != std::string::npos);
  CHECK(m.find("PAYPIPE_OLD") == std::string::npos);
}

namespace {

// A file under a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern = (std::filesystem::temp_directory_path() / "paypipe-env-test-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    REQUIRE(!dir_.empty());
    path_ = dir_ / "secret";
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  std::string path() const { return path_.string(); }
  std::string missing() const { return (dir_ / "absent").string(); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("a secret may come from the file that <name>_FILE names, one trailing newline removed") {
  TempFile file("s3cret-from-file\n");
  Env env({{"PAYPIPE_PG_PASSWORD_FILE", file.path()}});
  CHECK(env.secret("PAYPIPE_PG_PASSWORD") == "s3cret-from-file");
  CHECK(env.finish().ok());  // the _FILE variable counts as read
}

TEST_CASE("a secret file keeps everything but one trailing newline") {
  TempFile two_newlines("line one\nline two\n\n");
  TempFile no_newline("no-newline");
  TempFile empty("");
  Env env({{"PAYPIPE_A_FILE", two_newlines.path()},
           {"PAYPIPE_B_FILE", no_newline.path()},
           {"PAYPIPE_C_FILE", empty.path()}});
  CHECK(env.secret("PAYPIPE_A") == "line one\nline two\n");
  CHECK(env.secret("PAYPIPE_B") == "no-newline");
  CHECK(env.secret("PAYPIPE_C", "default") == "");  // an empty file is an empty value, not unset
  CHECK(env.finish().ok());
}

TEST_CASE("a secret set both directly and as a file is an error naming both, never the values") {
  TempFile file("s3cret-from-file\n");
  Env env({{"PAYPIPE_ADMIN_TOKEN", "hunter2"}, {"PAYPIPE_ADMIN_TOKEN_FILE", file.path()}});
  env.secret("PAYPIPE_ADMIN_TOKEN");
  env.secret("PAYPIPE_ADMIN_TOKEN");  // read again by another config: told once
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  const std::string both = "PAYPIPE_ADMIN_TOKEN: set either PAYPIPE_ADMIN_TOKEN or PAYPIPE_ADMIN_TOKEN_FILE, not both";
  CHECK(m.find(both) != std::string::npos);
  CHECK(m.find(both) == m.rfind(both));
  CHECK(m.find("PAYPIPE_ADMIN_TOKEN_FILE") != std::string::npos);
  CHECK(m.find("unknown variable") == std::string::npos);
  CHECK(m.find("hunter2") == std::string::npos);
  CHECK(m.find("s3cret-from-file") == std::string::npos);
}

TEST_CASE("an unreadable secret file is an error naming the variable and the path") {
  TempFile file("s3cret-from-file\n");
  Env env({{"PAYPIPE_PG_PASSWORD_FILE", file.missing()}, {"PAYPIPE_ADMIN_TOKEN_FILE", file.path() + "/not-a-dir"}});
  CHECK(env.secret("PAYPIPE_PG_PASSWORD", "default") == "default");  // as for any bad value
  env.secret("PAYPIPE_ADMIN_TOKEN");
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  const auto& m = status.error().message;
  CHECK(m.find("PAYPIPE_PG_PASSWORD_FILE: cannot read \"" + file.missing() + "\"") != std::string::npos);
  CHECK(m.find("PAYPIPE_ADMIN_TOKEN_FILE: cannot read \"" + file.path() + "/not-a-dir\"") != std::string::npos);
  CHECK(m.find("s3cret-from-file") == std::string::npos);
}

TEST_CASE("a directory given as a secret file is an error, not an empty secret") {
  TempFile file("x");
  const auto dir = std::filesystem::path(file.path()).parent_path().string();
  Env env({{"PAYPIPE_ADMIN_TOKEN_FILE", dir}});
  env.secret("PAYPIPE_ADMIN_TOKEN");
  const auto status = env.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("PAYPIPE_ADMIN_TOKEN_FILE: cannot read \"" + dir + "\"") != std::string::npos);
}
