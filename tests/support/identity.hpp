#pragma once
// The tests' identity provider: an RSA (RS256) and a P-256 (ES256) key pair made at
// first use, their public halves in a JWKS file, and tokens minted for any user. The
// daemons verify these tokens exactly as they verify a real provider's: no test-only
// path in any daemon.
//
//   auto r = api.get("/v1/wallets/alice", {testing::bearer("alice")});
//   auth::Authenticator::create(testing::Identity::shared().settings())   // in-process tests

#include <chrono>
#include <map>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/sign.hpp"
#include "http/http.hpp"

namespace paypipe::testing {

class Identity {
 public:
  static const Identity& shared();

  static constexpr const char* issuer = "https://id.paypipe.test";
  static constexpr const char* audience = "paypipe-api";

  const std::string& jwks_file() const { return jwks_file_; }
  // PAYPIPE_JWT_JWKS_FILE, _ISSUER, _AUDIENCE for a daemon.
  std::map<std::string, std::string> environment() const;
  auth::Settings settings() const;

  const auth::SigningKey& rsa() const { return rsa_; }
  const auth::SigningKey& ec() const { return ec_; }

  // A valid RS256 token for `sub` (ES256 with `es256`).
  std::string token(const std::string& sub, const std::string& scope = "",
                    std::chrono::seconds ttl = std::chrono::seconds(3600), bool es256 = false) const;
  // A token with exactly these claims, signed by `key`.
  static std::string token_with(const auth::SigningKey& key, const auth::TokenSpec& spec);
  auth::TokenSpec spec(const std::string& sub) const;

 private:
  Identity();
  ~Identity();  // removes the JWKS file: tests clean up
  std::string dir_;
  std::string jwks_file_;
  auth::SigningKey rsa_;
  auth::SigningKey ec_;
};

// {"Authorization", "Bearer <a valid token for sub>"}
http::Header bearer(const std::string& sub, const std::string& scope = "");
// The service credential of deposits: a token with scope wallet:deposit.
http::Header deposit_credential();

// Seconds since the epoch.
std::int64_t unix_now();

}  // namespace paypipe::testing
