#include "auth/sign.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <fstream>
#include <sstream>

#include "core/json.hpp"

namespace paypipe::auth {

namespace {

core::Error failed(std::string message) {
  return core::make_error(core::ErrorCategory::invalid_input, "bad-key", std::move(message));
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string bn_bytes(EVP_PKEY* pkey, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return {};
  const int size = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  BN_free(bn);
  return out;
}

core::Result<Algorithm> algorithm_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < 2048) return failed("RSA keys must have 2048 bits or more");
    return Algorithm::rs256;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    std::array<char, 64> group{};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &length) != 1 ||
        std::string(group.data(), length) != "prime256v1") {
      return failed("EC keys must be on P-256 (ES256)");
    }
    return Algorithm::es256;
  }
  return failed("the key must be RSA or EC P-256");
}

}  // namespace

core::Result<SigningKey> SigningKey::from_pem(const std::string& pem, std::string kid) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) return failed("not a PEM private key");
  SigningKey key;
  key.pkey_ = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
  auto alg = algorithm_of(raw);
  if (!alg) return alg.error();
  key.alg_ = *alg;
  key.kid_ = std::move(kid);
  return key;
}

core::Result<SigningKey> SigningKey::from_pem_file(const std::string& path, std::string kid) {
  std::ifstream in(path);
  if (!in) return failed("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return from_pem(text.str(), std::move(kid));
}

SigningKey SigningKey::hs256(std::string secret, std::string kid) {
  SigningKey key;
  key.alg_ = Algorithm::hs256;
  key.secret_ = std::move(secret);
  key.kid_ = std::move(kid);
  return key;
}

core::Result<SigningKey> SigningKey::generate(Algorithm alg, std::string kid) {
  EVP_PKEY* raw = nullptr;
  if (alg == Algorithm::rs256) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else if (alg == Algorithm::es256) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  }
  if (raw == nullptr) return failed("key generation failed");
  SigningKey key;
  key.pkey_ = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
  key.alg_ = alg;
  key.kid_ = std::move(kid);
  return key;
}

core::Result<std::string> SigningKey::public_jwk() const {
  core::json::Writer w;
  w.begin_object();
  if (alg_ == Algorithm::rs256) {
    w.field("kty", "RSA")
        .field("n", base64url_encode(bn_bytes(pkey_.get(), OSSL_PKEY_PARAM_RSA_N)))
        .field("e", base64url_encode(bn_bytes(pkey_.get(), OSSL_PKEY_PARAM_RSA_E)));
  } else if (alg_ == Algorithm::es256) {
    w.field("kty", "EC")
        .field("crv", "P-256")
        .field("x", base64url_encode(bn_bytes(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)))
        .field("y", base64url_encode(bn_bytes(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)));
  } else {
    return failed("an HS256 secret has no public half");
  }
  w.field("kid", kid_).field("alg", to_string(alg_)).field("use", "sig").end_object();
  return w.take();
}

core::Result<std::string> SigningKey::private_pem() const {
  if (!pkey_) return failed("an HS256 secret is not a PEM key");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return failed("cannot write the key");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

core::Result<std::string> SigningKey::sign(const std::string& claims) const {
  core::json::Writer header;
  header.begin_object().field("alg", to_string(alg_)).field("typ", "JWT");
  if (!kid_.empty()) header.field("kid", kid_);
  header.end_object();
  const std::string input = base64url_encode(header.take()) + "." + base64url_encode(claims);
  std::string signature;
  if (alg_ == Algorithm::hs256) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    std::size_t length = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret_.data(), secret_.size(),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), mac.size(),
                  &length) == nullptr) {
      return failed("HMAC failed");
    }
    signature.assign(reinterpret_cast<char*>(mac.data()), length);
  } else {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    std::size_t length = 0;
    if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
      return failed("signing failed");
    }
    signature.resize(length);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      return failed("signing failed");
    }
    signature.resize(length);
    if (alg_ == Algorithm::es256) {
      // EVP gives DER; JOSE wants r||s, 32 bytes each.
      const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
      if (sig == nullptr) return failed("signing failed");
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(sig);
      signature = std::move(raw);
    }
  }
  return input + "." + base64url_encode(signature);
}

std::string jwks_of(const std::vector<std::string>& jwks) {
  core::json::Writer w;
  w.begin_object().begin_array("keys");
  for (const auto& jwk : jwks) w.raw(jwk);
  w.end_array().end_object();
  return w.take();
}

std::string claims_json(const TokenSpec& spec) {
  core::json::Writer w;
  w.begin_object().field("sub", spec.subject).field("iss", spec.issuer).field("aud", spec.audience);
  if (!spec.scope.empty()) w.field("scope", spec.scope);
  w.field("iat", spec.issued_at).field("exp", spec.expires_at);
  if (spec.not_before != 0) w.field("nbf", spec.not_before);
  w.end_object();
  return w.take();
}

}  // namespace paypipe::auth
