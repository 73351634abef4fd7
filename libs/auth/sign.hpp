#pragma once
// Minting tokens, for paypipe-admin, the tests and the benchmarks: a daemon only
// verifies. The private key is a PEM file (RSA signs RS256, P-256 signs ES256) or, for
// the local profile, an HS256 secret.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/jwt.hpp"

namespace paypipe::auth {

class SigningKey {
 public:
  // A PEM private key (PKCS#8 or traditional), RSA of 2048 bits or more, or EC P-256.
  static core::Result<SigningKey> from_pem(const std::string& pem, std::string kid);
  static core::Result<SigningKey> from_pem_file(const std::string& path, std::string kid);
  static SigningKey hs256(std::string secret, std::string kid = {});
  // A fresh key pair (tests, run-local.sh): RSA 2048 or P-256.
  static core::Result<SigningKey> generate(Algorithm alg, std::string kid);

  Algorithm alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  // The public half as one JWK object ({"kty":..,"kid":..,"alg":..,"use":"sig",..}).
  core::Result<std::string> public_jwk() const;
  // The private key as PEM (PKCS#8).
  core::Result<std::string> private_pem() const;
  // header.payload.signature over `claims_json` (a JSON object).
  core::Result<std::string> sign(const std::string& claims_json) const;

 private:
  Algorithm alg_ = Algorithm::rs256;
  std::string kid_;
  std::shared_ptr<EVP_PKEY> pkey_;
  std::string secret_;
};

// {"keys":[...]} from JWK objects.
std::string jwks_of(const std::vector<std::string>& jwks);

struct TokenSpec {
  std::string subject;
  std::string issuer;
  std::string audience;
  std::string scope;  // space-separated, empty: none
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t not_before = 0;  // 0: no nbf
};
std::string claims_json(const TokenSpec& spec);

}  // namespace paypipe::auth
