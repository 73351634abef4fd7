// Fuzzes the bearer-token parser and verifier (libs/auth) on what any client can send:
// the Authorization header's token, and the JWKS parser on what a mounted file holds.
// The first byte picks: even, the rest is a token verified against a fixed key set (an
// RSA and a P-256 key; every expectation fixed); odd, the rest is a JWKS. Nothing may
// crash, and a token that verifies must say who (a valid subject). Base64url must
// round-trip: a text that decodes is the one encoding of its bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "auth/jwt.hpp"
#include "auth/sign.hpp"

namespace {

const paypipe::auth::KeySet& keys() {
  static const paypipe::auth::KeySet set = [] {
    using paypipe::auth::Algorithm;
    using paypipe::auth::SigningKey;
    const auto rsa = SigningKey::generate(Algorithm::rs256, "fuzz-rsa").value();
    const auto ec = SigningKey::generate(Algorithm::es256, "fuzz-ec").value();
    return paypipe::auth::KeySet::parse(paypipe::auth::jwks_of({rsa.public_jwk().value(), ec.public_jwk().value()}))
        .value();
  }();
  return set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    (void)paypipe::auth::KeySet::parse(input);
    return 0;
  }
  if (const auto decoded = paypipe::auth::base64url_decode(input)) {
    if (paypipe::auth::base64url_encode(*decoded) != input) std::abort();
  }
  const paypipe::auth::Expectations expect{"https://id.fuzz", "paypipe", std::chrono::seconds(30),
                                           "a-local-secret-of-32-characters!"};
  const auto claims = paypipe::auth::verify(input, keys(), expect, 1'800'000'000);
  if (claims && !paypipe::auth::valid_subject(claims->subject)) std::abort();
  return 0;
}
