#include "auth/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <array>

#include "core/json.hpp"

namespace paypipe::auth {

namespace {

core::Error invalid(std::string message) {
  return core::make_error(core::ErrorCategory::unauthenticated, "invalid-token", std::move(message));
}

int alphabet_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

std::shared_ptr<EVP_PKEY> adopt(EVP_PKEY* pkey) { return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free); }

Bn bignum(const std::string& bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

// Builds a public key from OSSL_PARAMs (OpenSSL 3's EVP_PKEY_fromdata).
std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) return nullptr;
  auto key = adopt(pkey);
  // fromdata takes an EC point as given: check that it lies on the curve.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) <= 0) return nullptr;
  return key;
}

std::shared_ptr<EVP_PKEY> rsa_key(const std::string& n, const std::string& e) {
  // Under 2048 bits RS256 is not worth the name.
  if (n.size() < 256 || n.size() > 1024 || e.empty() || e.size() > 8) return nullptr;
  Bn bn_n = bignum(n), bn_e = bignum(e);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld) return nullptr;
  if (!OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return nullptr;
  return from_params("RSA", params.get());
}

std::shared_ptr<EVP_PKEY> p256_key(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) return nullptr;
  if (!OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return nullptr;
  return from_params("EC", params.get());
}

std::optional<std::string> member_text(const core::json::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// A NumericDate: an integer (or a number with a fraction, truncated) of seconds.
std::optional<std::int64_t> member_time(const core::json::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd()) return std::nullopt;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsDouble()) {
    const double d = it->value.GetDouble();
    if (d > -1e15 && d < 1e15) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// The JOSE ES256 signature is r||s, 32 bytes each; EVP wants DER.
std::optional<std::string> jose_to_der(const std::string& raw) {
  if (raw.size() != 64) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  Bn r = bignum(raw.substr(0, 32)), s = bignum(raw.substr(32));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool verify_with_key(EVP_PKEY* pkey, const std::string& input, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey, nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

bool verify_hs256(const std::string& secret, const std::string& input, const std::string& signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), mac.size(),
                &length) == nullptr) {
    return false;
  }
  return length == signature.size() && CRYPTO_memcmp(mac.data(), signature.data(), length) == 0;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = alphabet_value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero: one text per byte string.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

const char* to_string(Algorithm alg) {
  switch (alg) {
    case Algorithm::rs256: return "RS256";
    case Algorithm::es256: return "ES256";
    case Algorithm::hs256: return "HS256";
  }
  return "?";
}

core::Result<KeySet> KeySet::parse(std::string_view jwks_json) {
  auto doc = core::json::parse(jwks_json);
  if (!doc)
    return core::make_error(core::ErrorCategory::invalid_input, "bad-jwks",
                            "the JWKS is not JSON: " + doc.error().message);
  if (!doc->IsObject() || !doc->HasMember("keys") || !(*doc)["keys"].IsArray()) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-jwks",
                            "the JWKS must be an object with a \"keys\" array");
  }
  KeySet set;
  const auto& keys = (*doc)["keys"];
  for (rapidjson::SizeType i = 0; i < keys.Size(); ++i) {
    const auto& jwk = keys[i];
    const std::string where = "JWKS key " + std::to_string(i);
    if (!jwk.IsObject())
      return core::make_error(core::ErrorCategory::invalid_input, "bad-jwks", where + " is not an object");
    const auto kty = member_text(jwk, "kty").value_or("");
    if (const auto use = member_text(jwk, "use"); use && *use != "sig") continue;
    Key key;
    key.kid = member_text(jwk, "kid").value_or("");
    const auto alg = member_text(jwk, "alg");
    const auto decoded = [&](const char* name) { return base64url_decode(member_text(jwk, name).value_or("")); };
    if (kty == "RSA") {
      if (alg && *alg != "RS256") continue;
      const auto n = decoded("n"), e = decoded("e");
      if (n && e) key.pkey = rsa_key(*n, *e);
      key.alg = Algorithm::rs256;
    } else if (kty == "EC" && member_text(jwk, "crv").value_or("") == "P-256") {
      if (alg && *alg != "ES256") continue;
      const auto x = decoded("x"), y = decoded("y");
      if (x && y) key.pkey = p256_key(*x, *y);
      key.alg = Algorithm::es256;
    } else {
      continue;  // another type (oct keys are never taken from a JWKS)
    }
    if (!key.pkey) {
      return core::make_error(core::ErrorCategory::invalid_input, "bad-jwks",
                              where + " (kid \"" + key.kid + "\") is not a valid " + kty + " public key");
    }
    if (set.find(key.kid) != nullptr) {
      return core::make_error(core::ErrorCategory::invalid_input, "bad-jwks", "kid \"" + key.kid + "\" appears twice");
    }
    set.keys_.push_back(std::move(key));
  }
  return set;
}

const Key* KeySet::find(std::string_view kid) const {
  for (const auto& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

bool Claims::has_scope(std::string_view scope) const {
  for (const auto& s : scopes) {
    if (s == scope) return true;
  }
  return false;
}

bool valid_subject(std::string_view sub) {
  if (sub.empty() || sub.size() > 64) return false;
  for (const char c : sub) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

core::Result<ParsedToken> parse_token(std::string_view token) {
  if (token.empty()) return invalid("the token is empty");
  if (token.size() > max_token_length) return invalid("the token is too long");
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return invalid("the token is not a compact JWS (header.payload.signature)");
  }
  auto header = base64url_decode(token.substr(0, first));
  auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header || !payload || !signature) return invalid("the token is not base64url");
  auto doc = core::json::parse(*header);
  if (!doc || !doc->IsObject()) return invalid("the token header is not a JSON object");
  ParsedToken parsed;
  const auto alg = member_text(*doc, "alg");
  if (!alg) return invalid("the token header has no alg");
  parsed.alg = *alg;
  parsed.kid = member_text(*doc, "kid").value_or("");
  // A critical extension we do not understand must be refused (RFC 7515 4.1.11).
  if (doc->HasMember("crit")) return invalid("the token header has crit extensions");
  parsed.signing_input = std::string(token.substr(0, second));
  parsed.signature = std::move(*signature);
  parsed.payload = std::move(*payload);
  return parsed;
}

core::Result<Claims> verify(std::string_view token, const KeySet& keys, const Expectations& expect,
                            std::int64_t now_seconds) {
  auto parsed = parse_token(token);
  if (!parsed) return parsed.error();

  bool good_signature = false;
  if (parsed->alg == "HS256") {
    if (expect.hs256_secret.empty()) return invalid("HS256 tokens are not accepted here");
    good_signature = verify_hs256(expect.hs256_secret, parsed->signing_input, parsed->signature);
  } else if (parsed->alg == "RS256" || parsed->alg == "ES256") {
    const auto alg = parsed->alg == "RS256" ? Algorithm::rs256 : Algorithm::es256;
    const Key* key = nullptr;
    if (!parsed->kid.empty()) {
      key = keys.find(parsed->kid);
      if (key == nullptr) return invalid("no key with the token's kid");
    } else {
      for (const auto& k : keys.keys()) {
        if (k.alg != alg) continue;
        if (key != nullptr) return invalid("the token names no kid and several keys could have signed it");
        key = &k;
      }
      if (key == nullptr) return invalid("no key for the token's alg");
    }
    // The algorithm is the key's, never the token's choice.
    if (key->alg != alg) return invalid("the token's alg does not match its key");
    if (alg == Algorithm::es256) {
      const auto der = jose_to_der(parsed->signature);
      good_signature = der && verify_with_key(key->pkey.get(), parsed->signing_input, *der);
    } else {
      good_signature = verify_with_key(key->pkey.get(), parsed->signing_input, parsed->signature);
    }
  } else {
    return invalid("the token's alg is not accepted (RS256, ES256)");
  }
  if (!good_signature) return invalid("the token's signature does not verify");

  // Only now is the payload worth reading.
  auto doc = core::json::parse(parsed->payload);
  if (!doc || !doc->IsObject()) return invalid("the token payload is not a JSON object");
  const auto leeway = expect.leeway.count();
  const auto exp = member_time(*doc, "exp");
  if (!exp) return invalid("the token has no exp");
  if (now_seconds > *exp + leeway) return invalid("the token has expired");
  if (doc->HasMember("nbf")) {
    const auto nbf = member_time(*doc, "nbf");
    if (!nbf) return invalid("the token's nbf is not a number");
    if (now_seconds + leeway < *nbf) return invalid("the token is not valid yet");
  }
  const auto iss = member_text(*doc, "iss");
  if (!iss || *iss != expect.issuer) return invalid("the token's issuer is not accepted");
  bool audience_ok = false;
  const core::json::Value& payload = *doc;  // const iterators: RapidJSON's mixed ones are ambiguous to clang
  if (const auto it = payload.FindMember("aud"); it != payload.MemberEnd()) {
    if (it->value.IsString()) {
      audience_ok = expect.audience == it->value.GetString();
    } else if (it->value.IsArray()) {
      for (const auto& a : it->value.GetArray())
        audience_ok = audience_ok || (a.IsString() && expect.audience == a.GetString());
    }
  }
  if (!audience_ok) return invalid("the token is not meant for this audience");
  const auto sub = member_text(*doc, "sub");
  if (!sub || !valid_subject(*sub)) return invalid("the token's sub is missing or not a valid user id");

  Claims claims;
  claims.subject = *sub;
  claims.issuer = *iss;
  claims.expires_at = *exp;
  claims.kid = parsed->kid;
  if (const auto scope = member_text(*doc, "scope")) {
    std::string_view rest = *scope;
    while (!rest.empty()) {
      const auto space = rest.find(' ');
      if (space != 0) claims.scopes.emplace_back(rest.substr(0, space));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  }
  return claims;
}

}  // namespace paypipe::auth
