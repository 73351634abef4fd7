#include "auth/secrets.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace paypipe;

TEST_CASE("same_secret matches only the exact secret, and nothing when none is configured") {
  CHECK(auth::same_secret("s3cret-token", "s3cret-token"));
  CHECK_FALSE(auth::same_secret("s3cret-tokeN", "s3cret-token"));
  CHECK_FALSE(auth::same_secret("s3cret-toke", "s3cret-token"));    // a prefix
  CHECK_FALSE(auth::same_secret("s3cret-token-", "s3cret-token"));  // longer
  CHECK_FALSE(auth::same_secret("", "s3cret-token"));
  CHECK_FALSE(auth::same_secret("", ""));  // not configured: refuse everything
  CHECK_FALSE(auth::same_secret("anything", ""));
}

TEST_CASE("random tokens are URL-safe, of the asked size and never repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto token = auth::random_token();
    CHECK(token.size() == 43);
    CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    seen.insert(token);
  }
  CHECK(seen.size() == 1000);
  CHECK(auth::random_token(16).size() == 22);
}

TEST_CASE("sha256_hex is the standard digest in lower-case hex") {
  CHECK(auth::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(auth::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
