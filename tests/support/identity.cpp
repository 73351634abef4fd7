#include "support/identity.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace paypipe::testing {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Identity::Identity()
    : rsa_(auth::SigningKey::generate(auth::Algorithm::rs256, "test-rsa").value()),
      ec_(auth::SigningKey::generate(auth::Algorithm::es256, "test-ec").value()) {
  // One directory per test process; the daemons of this process read the file.
  dir_ = (std::filesystem::temp_directory_path() / ("paypipe-identity-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir_);
  jwks_file_ = dir_ + "/jwks.json";
  std::ofstream(jwks_file_) << auth::jwks_of({rsa_.public_jwk().value(), ec_.public_jwk().value()});
}

Identity::~Identity() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

const Identity& Identity::shared() {
  static const Identity identity;
  return identity;
}

std::map<std::string, std::string> Identity::environment() const {
  return {{"PAYPIPE_JWT_JWKS_FILE", jwks_file_}, {"PAYPIPE_JWT_ISSUER", issuer}, {"PAYPIPE_JWT_AUDIENCE", audience}};
}

auth::Settings Identity::settings() const {
  auth::Settings s;
  s.jwks_file = jwks_file_;
  s.issuer = issuer;
  s.audience = audience;
  return s;
}

auth::TokenSpec Identity::spec(const std::string& sub) const {
  const auto now = unix_now();
  return auth::TokenSpec{sub, issuer, audience, "", now, now + 3600, 0};
}

std::string Identity::token_with(const auth::SigningKey& key, const auth::TokenSpec& spec) {
  auto token = key.sign(auth::claims_json(spec));
  REQUIRE(token.ok());
  return std::move(token).value();
}

std::string Identity::token(const std::string& sub, const std::string& scope, std::chrono::seconds ttl,
                            bool es256) const {
  auto s = spec(sub);
  s.scope = scope;
  s.expires_at = s.issued_at + ttl.count();
  return token_with(es256 ? ec_ : rsa_, s);
}

http::Header bearer(const std::string& sub, const std::string& scope) {
  return {"Authorization", "Bearer " + Identity::shared().token(sub, scope)};
}

http::Header deposit_credential() { return bearer("payment-provider", "wallet:deposit"); }

}  // namespace paypipe::testing
