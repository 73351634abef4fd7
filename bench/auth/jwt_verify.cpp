// bench-jwt-verify: what checking a bearer token costs per request, in a timed loop on
// one thread: the whole Authenticator::verify a daemon runs (parse, signature with
// OpenSSL EVP, claims, the JWKS file's change check), for RS256 (2048-bit RSA) and
// ES256 (P-256) tokens, and signing for comparison. Prints one JSON object.
//
//   bench-jwt-verify [--iterations N]
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>

#include "auth/authenticator.hpp"
#include "auth/sign.hpp"
#include "core/json.hpp"

using namespace paypipe;

namespace {

template <typename F>
double micros_per_call(int iterations, F&& f) {
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--iterations") iterations = std::atoi(argv[i + 1]);
  }
  const auto rsa = auth::SigningKey::generate(auth::Algorithm::rs256, "rsa").value();
  const auto ec = auth::SigningKey::generate(auth::Algorithm::es256, "ec").value();
  const auto dir = std::filesystem::temp_directory_path() / ("bench-jwt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto jwks = (dir / "jwks.json").string();
  std::ofstream(jwks) << auth::jwks_of({rsa.public_jwk().value(), ec.public_jwk().value()});
  auth::Settings settings;
  settings.jwks_file = jwks;
  settings.issuer = "https://id.bench";
  settings.audience = "paypipe";
  const auto authenticator = auth::Authenticator::create(settings).value();
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto claims = auth::claims_json({"user-42", settings.issuer, settings.audience, "", now, now + 3600, 0});
  const auto rs_token = rsa.sign(claims).value();
  const auto es_token = ec.sign(claims).value();
  bool ok = true;
  const double rs = micros_per_call(iterations, [&] { ok = ok && authenticator->verify(rs_token).ok(); });
  const double es = micros_per_call(iterations, [&] { ok = ok && authenticator->verify(es_token).ok(); });
  const double bad = micros_per_call(iterations, [&] { ok = ok && !authenticator->verify("not.a.token").ok(); });
  const double rs_sign = micros_per_call(iterations / 10 + 1, [&] { (void)rsa.sign(claims); });
  const double es_sign = micros_per_call(iterations / 10 + 1, [&] { (void)ec.sign(claims); });
  std::filesystem::remove_all(dir);
  core::json::Writer w;
  w.begin_object()
      .field("iterations", iterations)
      .field("verifyRs256Us", rs)
      .field("verifyEs256Us", es)
      .field("refuseMalformedUs", bad)
      .field("signRs256Us", rs_sign)
      .field("signEs256Us", es_sign)
      .field("allAsExpected", ok)
      .end_object();
  std::cout << w.take() << "\n";
  return ok ? 0 : 1;
}
