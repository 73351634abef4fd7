#pragma once
// JSON Web Tokens (RFC 7519) as bearer credentials: parsing, signature verification
// with OpenSSL's EVP interface and claim checks. No Boost, no HTTP here.
//
// Accepted algorithms: RS256 (RSA key), ES256 (P-256 key) from a JWKS (RFC 7517), and
// HS256 only when a shared secret is configured (the local profile). The token's `alg`
// must match the type of the key it names: an HS256 token is never checked against a
// public key, so a token "signed" with the RSA public key as an HMAC secret fails.
// `alg: none` and every other algorithm fail.
//
// Thread safety: a KeySet is immutable after parse; verify() is a pure function.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

typedef struct evp_pkey_st EVP_PKEY;  // OpenSSL's own declaration, word for word: no OpenSSL header here

namespace paypipe::auth {

// Base64url without padding (RFC 7515 section 2). decode() refuses '=' padding,
// characters outside the alphabet and impossible lengths.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

enum class Algorithm { rs256, es256, hs256 };
const char* to_string(Algorithm alg);

// A public key from a JWKS.
struct Key {
  std::string kid;
  Algorithm alg = Algorithm::rs256;  // RS256 for kty RSA, ES256 for kty EC / crv P-256
  std::shared_ptr<EVP_PKEY> pkey;
};

class KeySet {
 public:
  // {"keys": [{"kty":"RSA","kid":..,"n":..,"e":..}, {"kty":"EC","crv":"P-256","kid":..,"x":..,"y":..}]}.
  // Keys of other types, or with a `use` other than "sig", are skipped; a key of ours
  // that does not decode fails the whole set (invalid_input naming it), so a broken
  // file is noticed instead of silently dropping a key. Private members are ignored.
  static core::Result<KeySet> parse(std::string_view jwks_json);

  const Key* find(std::string_view kid) const;
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

// What a verified token says.
struct Claims {
  std::string subject;              // sub
  std::vector<std::string> scopes;  // scope, split on spaces
  std::string issuer;
  std::int64_t expires_at = 0;      // exp, seconds since the epoch
  std::string kid;

  bool has_scope(std::string_view scope) const;
};

struct Expectations {
  std::string issuer;    // iss must equal it
  std::string audience;  // aud (a string or an array) must contain it
  std::chrono::seconds leeway{30};
  std::string hs256_secret;  // empty: HS256 refused
};

// The decoded parts of a compact JWS, before any signature check.
struct ParsedToken {
  std::string alg;
  std::string kid;
  std::string signing_input;  // header.payload as sent
  std::string signature;      // raw bytes
  std::string payload;        // JSON text
};

inline constexpr std::size_t max_token_length = 8192;

// Splits and decodes; unauthenticated ("invalid-token") on anything malformed.
core::Result<ParsedToken> parse_token(std::string_view token);

// The whole check: parse, pick the key by kid (the only key of the right type when the
// token names none and there is one), verify the signature, then exp/nbf (with leeway),
// iss, aud and sub. Every failure is unauthenticated with code "invalid-token" and a
// message that says which check failed (never the token itself).
core::Result<Claims> verify(std::string_view token, const KeySet& keys, const Expectations& expect,
                            std::int64_t now_seconds);

// User ids (sub) must be safe as path segments and database keys: [A-Za-z0-9_.:-], 1 to 64.
bool valid_subject(std::string_view sub);

}  // namespace paypipe::auth
