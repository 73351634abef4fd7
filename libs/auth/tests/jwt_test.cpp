#include "auth/jwt.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "auth/sign.hpp"

using namespace paypipe;
using namespace paypipe::auth;

namespace {

constexpr std::int64_t now = 1'800'000'000;

const SigningKey& rsa() {
  static const SigningKey key = SigningKey::generate(Algorithm::rs256, "rsa-1").value();
  return key;
}
const SigningKey& ec() {
  static const SigningKey key = SigningKey::generate(Algorithm::es256, "ec-1").value();
  return key;
}
const KeySet& keys() {
  static const KeySet set = KeySet::parse(jwks_of({rsa().public_jwk().value(), ec().public_jwk().value()})).value();
  return set;
}

Expectations expect() { return Expectations{"https://id.test", "paypipe", std::chrono::seconds(30), ""}; }

TokenSpec spec(std::string sub = "alice") {
  return TokenSpec{std::move(sub), "https://id.test", "paypipe", "", now - 10, now + 300, 0};
}

std::string token(const SigningKey& key, const TokenSpec& s) { return key.sign(claims_json(s)).value(); }

void refused(const std::string& t, const std::string& why, const Expectations& e = expect()) {
  const auto r = verify(t, keys(), e, now);
  INFO(why);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category == core::ErrorCategory::unauthenticated);
  CHECK(r.error().code == "invalid-token");
  if (t.size() > 8) CHECK(r.error().message.find(t) == std::string::npos);  // never echoes the token
}

std::string part(const std::string& json) { return base64url_encode(json); }

}  // namespace

TEST_CASE("base64url round-trips and refuses padding, foreign characters and impossible lengths") {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\xfe", 3)}) {
    CHECK(base64url_decode(base64url_encode(s)) == s);
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("YQ==").has_value());
  CHECK_FALSE(base64url_decode("a+b/").has_value());
  CHECK_FALSE(base64url_decode("abcde").has_value());
  CHECK_FALSE(base64url_decode("YR").has_value());  // non-zero leftover bits
}

TEST_CASE("RS256 and ES256 tokens from the JWKS verify, and say who and what") {
  auto s = spec();
  s.scope = "wallet:deposit  orders:read";
  const auto r = verify(token(rsa(), s), keys(), expect(), now);
  REQUIRE(r.ok());
  CHECK(r->subject == "alice");
  CHECK(r->kid == "rsa-1");
  CHECK(r->has_scope("wallet:deposit"));
  CHECK(r->has_scope("orders:read"));
  CHECK_FALSE(r->has_scope("wallet"));
  const auto e = verify(token(ec(), spec("bob")), keys(), expect(), now);
  REQUIRE(e.ok());
  CHECK(e->subject == "bob");
}

TEST_CASE("an audience array containing ours is accepted") {
  const std::string claims = R"({"sub":"alice","iss":"https://id.test","aud":["other","paypipe"],"exp":)" +
                             std::to_string(now + 60) + "}";
  CHECK(verify(rsa().sign(claims).value(), keys(), expect(), now).ok());
}

TEST_CASE("time claims are checked with the leeway") {
  auto s = spec();
  s.expires_at = now - 20;  // within 30 s of leeway
  CHECK(verify(token(rsa(), s), keys(), expect(), now).ok());
  s.expires_at = now - 31;
  refused(token(rsa(), s), "expired");
  s = spec();
  s.not_before = now + 20;
  CHECK(verify(token(rsa(), s), keys(), expect(), now).ok());
  s.not_before = now + 31;
  refused(token(rsa(), s), "not yet valid");
  refused(rsa().sign(R"({"sub":"alice","iss":"https://id.test","aud":"paypipe"})").value(), "no exp");
  refused(rsa().sign(R"({"sub":"alice","iss":"https://id.test","aud":"paypipe","exp":"soon"})").value(), "exp text");
}

TEST_CASE("issuer, audience and subject are checked") {
  auto s = spec();
  s.issuer = "https://evil.test";
  refused(token(rsa(), s), "issuer");
  s = spec();
  s.audience = "another-app";
  refused(token(rsa(), s), "audience");
  refused(token(rsa(), spec("")), "empty sub");
  refused(token(rsa(), spec("../../etc")), "sub outside the id charset");
  refused(token(rsa(), spec(std::string(65, 'a'))), "sub too long");
}

TEST_CASE("alg none, foreign algorithms and an HS256 token keyed with the public key are refused") {
  const std::string claims = claims_json(spec());
  refused(part(R"({"alg":"none","typ":"JWT"})") + "." + part(claims) + ".", "alg none, empty signature");
  refused(part(R"({"alg":"none","kid":"rsa-1"})") + "." + part(claims) + "." + part("x"), "alg none with kid");
  refused(part(R"({"alg":"RS512","kid":"rsa-1"})") + "." + part(claims) + "." + part("x"), "RS512");
  // The classic confusion: the verifier's public key used as an HMAC secret.
  const auto jwk = rsa().public_jwk().value();
  const auto pem_public = rsa().private_pem().value();  // any text the attacker may know
  for (const auto& secret : {jwk, pem_public}) {
    refused(SigningKey::hs256(secret, "rsa-1").sign(claims).value(), "HS256 with kid of the RSA key");
    refused(SigningKey::hs256(secret).sign(claims).value(), "HS256 without kid");
  }
  // Even where HS256 is allowed (local), only the configured secret signs.
  auto local = expect();
  local.hs256_secret = std::string(32, 's');
  CHECK(verify(SigningKey::hs256(local.hs256_secret).sign(claims).value(), keys(), local, now).ok());
  refused(SigningKey::hs256(jwk).sign(claims).value(), "HS256 with another secret", local);
}

TEST_CASE("the token's alg must match its key's type") {
  const std::string claims = claims_json(spec());
  // An ES256 signature presented under the RSA key's kid, and the reverse.
  const auto es = ec().sign(claims).value();
  const auto payload_and_sig = es.substr(es.find('.'));
  refused(part(R"({"alg":"ES256","kid":"rsa-1"})") + payload_and_sig, "ES256 under an RSA kid");
  const auto rs = rsa().sign(claims).value();
  refused(part(R"({"alg":"RS256","kid":"ec-1"})") + rs.substr(rs.find('.')), "RS256 under an EC kid");
}

TEST_CASE("bad signatures, unknown keys and malformed tokens are refused") {
  const auto good = token(rsa(), spec());
  std::string tampered = good;
  tampered[tampered.find('.') + 5] ^= 1;  // payload changed
  refused(tampered, "payload changed");
  std::string bad_sig = good;
  bad_sig.back() = bad_sig.back() == 'A' ? 'B' : 'A';
  refused(bad_sig, "signature changed");
  const auto stranger = SigningKey::generate(Algorithm::rs256, "rsa-1").value();
  refused(token(stranger, spec()), "same kid, another key");
  const auto unknown = SigningKey::generate(Algorithm::es256, "nobody").value();
  refused(token(unknown, spec()), "unknown kid");
  for (const std::string& t :
       std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "...", "e30.e30.", "!!.e30.e30", std::string(9000, 'a')}) {
    refused(t, "malformed: " + t.substr(0, 20));
  }
  refused(part(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"]})") + good.substr(good.find('.')), "crit");
  // ES256 signatures are exactly 64 bytes of r||s.
  const auto es = token(ec(), spec());
  refused(es.substr(0, es.rfind('.') + 1) + part(std::string(63, '\x01')), "short ES256 signature");
}

TEST_CASE("a JWKS with a broken key of ours fails as a whole; foreign keys are skipped") {
  CHECK_FALSE(KeySet::parse("not json").ok());
  CHECK_FALSE(KeySet::parse(R"({"keys":{}})").ok());
  CHECK_FALSE(KeySet::parse(R"({"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]})").ok());  // too short
  CHECK_FALSE(KeySet::parse(R"({"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":")" +
                            base64url_encode(std::string(32, '\1')) + R"(","y":")" +
                            base64url_encode(std::string(32, '\2')) + R"("}]})")
                  .ok());  // not on the curve
  const auto jwk = rsa().public_jwk().value();
  CHECK_FALSE(KeySet::parse(jwks_of({jwk, jwk})).ok());  // one kid twice
  const auto set = KeySet::parse(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"OKP","crv":"Ed25519","x":"AA"},)" +
                                 jwk + "]}");
  REQUIRE(set.ok());
  REQUIRE(set->keys().size() == 1);
  CHECK(set->keys()[0].kid == "rsa-1");
}

TEST_CASE("a token without kid is checked against the one key of its type") {
  const auto lone_key = SigningKey::generate(Algorithm::es256, "").value();
  const auto set = KeySet::parse(jwks_of({lone_key.public_jwk().value()})).value();
  CHECK(verify(lone_key.sign(claims_json(spec())).value(), set, expect(), now).ok());
  const auto other = SigningKey::generate(Algorithm::es256, "").value();
  CHECK_FALSE(verify(other.sign(claims_json(spec())).value(), set, expect(), now).ok());
}

TEST_CASE("PEM private keys sign what their public JWK verifies") {
  for (const auto* key : {&rsa(), &ec()}) {
    const auto pem = key->private_pem().value();
    const auto again = SigningKey::from_pem(pem, key->kid());
    REQUIRE(again.ok());
    CHECK(again->alg() == key->alg());
    CHECK(verify(again->sign(claims_json(spec())).value(), keys(), expect(), now).ok());
  }
  CHECK_FALSE(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "x").ok());
}
