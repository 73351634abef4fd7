#include "auth/authenticator.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/http_auth.hpp"
#include "auth/sign.hpp"
#include "core/uuid.hpp"

using namespace paypipe;
using namespace paypipe::auth;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string mint(const SigningKey& key, const std::string& sub, const std::string& scope = "") {
  return key.sign(claims_json({sub, "iss-a", "aud-a", scope, unix_now(), unix_now() + 300, 0})).value();
}

// Written to a temporary name and renamed, as a Secret volume update is seen.
void write_jwks(const std::string& path, const std::vector<const SigningKey*>& keys) {
  std::vector<std::string> jwks;
  for (const auto* k : keys) jwks.push_back(k->public_jwk().value());
  {
    std::ofstream out(path + ".tmp");
    out << jwks_of(jwks);
  }
  std::filesystem::rename(path + ".tmp", path);
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("paypipe-auth-" + core::new_uuid_v7());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// What every JWKS-file test expects of its tokens (mint's iss and aud).
Settings jwks_settings(const std::string& path, std::chrono::milliseconds reload_interval) {
  Settings s;
  s.jwks_file = path;
  s.issuer = "iss-a";
  s.audience = "aud-a";
  s.reload_interval = reload_interval;
  return s;
}

http::Request with_token(const std::string& value) {
  http::Request r;
  r.headers.push_back({"authorization", value});
  return r;
}

}  // namespace

TEST_CASE("settings: HS256 only in the local profile; issuer and audience required with a key source") {
  {
    core::Env env({{"PAYPIPE_JWT_HS256_SECRET", std::string(40, 'x')},
                   {"PAYPIPE_JWT_ISSUER", "i"},
                   {"PAYPIPE_JWT_AUDIENCE", "a"}});
    (void)Settings::read(env, /*local_profile=*/false);
    const auto s = env.finish();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("PAYPIPE_JWT_HS256_SECRET") != std::string::npos);
    CHECK(s.error().message.find(std::string(40, 'x')) == std::string::npos);
  }
  {
    core::Env env({{"PAYPIPE_JWT_HS256_SECRET", std::string(40, 'x')},
                   {"PAYPIPE_JWT_ISSUER", "i"},
                   {"PAYPIPE_JWT_AUDIENCE", "a"},
                   {"PAYPIPE_JWT_LEEWAY_SECONDS", "5"}});
    const auto settings = Settings::read(env, /*local_profile=*/true);
    CHECK(env.finish().ok());
    CHECK(settings.hs256_secret == std::string(40, 'x'));
    CHECK(settings.leeway == std::chrono::seconds(5));
    CHECK(settings.configured());
  }
  {
    core::Env env(std::map<std::string, std::string>{{"PAYPIPE_JWT_JWKS_FILE", "/x"}});
    (void)Settings::read(env, false);
    const auto s = env.finish();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("PAYPIPE_JWT_ISSUER") != std::string::npos);
    CHECK(s.error().message.find("PAYPIPE_JWT_AUDIENCE") != std::string::npos);
  }
  {
    core::Env env(std::map<std::string, std::string>{});
    const auto settings = Settings::read(env, false);
    CHECK(env.finish().ok());
    CHECK_FALSE(settings.configured());
    CHECK(settings.leeway == std::chrono::seconds(30));
  }
}

TEST_CASE("settings: every PAYPIPE_JWT_ variable reaches its field") {
  core::Env env({{"PAYPIPE_JWT_JWKS_FILE", "/etc/paypipe/jwks/jwks.json"},
                 {"PAYPIPE_JWT_ISSUER", "https://id.example.com"},
                 {"PAYPIPE_JWT_AUDIENCE", "paypipe"},
                 {"PAYPIPE_JWT_LEEWAY_SECONDS", "10"}});
  const auto settings = Settings::read(env, /*local_profile=*/false);
  REQUIRE(env.finish().ok());
  CHECK(settings.jwks_file == "/etc/paypipe/jwks/jwks.json");
  CHECK(settings.issuer == "https://id.example.com");
  CHECK(settings.audience == "paypipe");
  CHECK(settings.leeway == std::chrono::seconds(10));
  CHECK(settings.configured());
}

TEST_CASE("rate limit settings: per user, burst, 0 = off") {
  core::Env env({{"PAYPIPE_RATE_LIMIT_PER_USER", "5"}, {"PAYPIPE_RATE_LIMIT_BURST", "7"}});
  const auto limit = read_rate_limit(env);
  CHECK(env.finish().ok());
  CHECK(limit.per_second == 5);
  CHECK(limit.burst == 7);
  core::Env defaults(std::map<std::string, std::string>{});
  const auto d = read_rate_limit(defaults);
  CHECK(d.per_second == 20);
  CHECK(d.burst == 40);
  core::Env off(std::map<std::string, std::string>{{"PAYPIPE_RATE_LIMIT_PER_USER", "0"}});
  CHECK_FALSE(read_rate_limit(off).enabled());
  CHECK(off.finish().ok());
}

TEST_CASE("an unreadable or invalid JWKS file stops the start") {
  TempDir dir;
  Settings s;
  s.jwks_file = (dir.path / "missing.json").string();
  s.issuer = "iss-a";
  s.audience = "aud-a";
  CHECK_FALSE(Authenticator::create(s).ok());
  std::ofstream(dir.path / "bad.json") << "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
  s.jwks_file = (dir.path / "bad.json").string();
  CHECK_FALSE(Authenticator::create(s).ok());
}

TEST_CASE("keys rotate through the JWKS file without a restart") {
  TempDir dir;
  const auto path = (dir.path / "jwks.json").string();
  const auto old_key = SigningKey::generate(Algorithm::rs256, "k1").value();
  const auto new_key = SigningKey::generate(Algorithm::es256, "k2").value();
  write_jwks(path, {&old_key});
  auto a = Authenticator::create(jwks_settings(path, std::chrono::milliseconds(50))).value();
  CHECK(a->verify(mint(old_key, "alice")).ok());
  CHECK_FALSE(a->verify(mint(new_key, "alice")).ok());

  const auto wait_until = [&](auto&& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
  };
  write_jwks(path, {&old_key, &new_key});
  CHECK(wait_until([&] { return a->verify(mint(new_key, "alice")).ok(); }));
  CHECK(a->verify(mint(old_key, "alice")).ok());

  // A half-written or broken file keeps the keys that were there.
  {
    std::ofstream(path + ".tmp") << "{\"keys\": [";
    std::filesystem::rename(path + ".tmp", path);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK(a->verify(mint(new_key, "alice")).ok());

  write_jwks(path, {&new_key});
  CHECK(wait_until([&] { return !a->verify(mint(old_key, "alice")).ok(); }));
  CHECK(a->verify(mint(new_key, "alice")).ok());
  CHECK(a->key_count() == 1);
}

TEST_CASE("an authenticator without keys refuses every token") {
  auto a = Authenticator::create(Settings{}).value();
  const auto key = SigningKey::generate(Algorithm::rs256, "k").value();
  const auto r = a->verify(mint(key, "alice"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().category == core::ErrorCategory::unauthenticated);
}

TEST_CASE("routes: 401 with WWW-Authenticate, the claims to the handler, 429 past the budget") {
  Settings s;
  s.issuer = "iss-a";
  s.audience = "aud-a";
  s.hs256_secret = std::string(32, 'k');
  std::shared_ptr<const Authenticator> a = Authenticator::create(s).value();
  const auto key = SigningKey::hs256(s.hs256_secret);
  auto limiter = std::make_shared<http::RateLimiter>(http::RateLimit{1, 2});
  const auto route = user_route(
      a, [](const http::Request&, const Claims& who) { return http::Response::json(200, who.subject); }, limiter);

  const auto missing = route(http::Request{});
  CHECK(missing.status == 401);
  CHECK(missing.content_type == "application/problem+json");
  REQUIRE(missing.headers.size() == 1);
  CHECK(missing.headers[0].name == "WWW-Authenticate");
  CHECK(missing.headers[0].value.rfind("Bearer", 0) == 0);
  const auto basic = route(with_token("Basic YWxpY2U6cHc="));
  CHECK(basic.status == 401);
  CHECK(basic.headers[0].value.find("invalid_token") != std::string::npos);
  CHECK(route(with_token("Bearer nope")).status == 401);

  const auto token = "bearer " + mint(key, "alice");  // the scheme is case-insensitive
  CHECK(route(with_token(token)).body == "alice");
  CHECK(route(with_token(token)).status == 200);
  const auto limited = route(with_token(token));
  CHECK(limited.status == 429);
  CHECK(limited.content_type == "application/problem+json");
  bool retry_after = false;
  for (const auto& h : limited.headers) retry_after = retry_after || (h.name == "Retry-After" && h.value == "1");
  CHECK(retry_after);
  CHECK(route(with_token("Bearer " + mint(key, "bob"))).status == 200);  // per user
}

TEST_CASE("service credentials: a scope or the admin token; an end-user token is forbidden") {
  Settings s;
  s.issuer = "iss-a";
  s.audience = "aud-a";
  s.hs256_secret = std::string(32, 'k');
  auto a = Authenticator::create(s).value();
  const auto key = SigningKey::hs256(s.hs256_secret);
  CHECK(require_service(with_token("Bearer " + mint(key, "psp", "wallet:deposit")), *a, "wallet:deposit", "adm").ok());
  CHECK(require_service(with_token("Bearer adm"), *a, "wallet:deposit", "adm").ok());
  const auto user = require_service(with_token("Bearer " + mint(key, "alice")), *a, "wallet:deposit", "adm");
  REQUIRE_FALSE(user.ok());
  CHECK(user.error().category == core::ErrorCategory::forbidden);
  const auto none = require_service(http::Request{}, *a, "wallet:deposit", "adm");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().category == core::ErrorCategory::unauthenticated);
  CHECK(require_service(with_token("Bearer adm"), *a, "wallet:deposit", "").error().category ==
        core::ErrorCategory::unauthenticated);
}

TEST_CASE("a verified token is remembered until it expires or the keys change, within a bound") {
  TempDir dir;
  const auto path = (dir.path / "jwks.json").string();
  const auto key = SigningKey::generate(Algorithm::es256, "k1").value();
  const auto other = SigningKey::generate(Algorithm::es256, "k2").value();
  write_jwks(path, {&key});
  auto s = jwks_settings(path, std::chrono::milliseconds(20));
  s.leeway = std::chrono::seconds(30);
  s.cache_entries = 64;
  auto a = Authenticator::create(s).value();
  const auto now = unix_now();
  const auto token = key.sign(claims_json({"alice", "iss-a", "aud-a", "", now, now + 300, 0})).value();

  REQUIRE(a->verify_at(token, now).value().subject == "alice");
  CHECK(a->cache_hits() == 0);
  REQUIRE(a->verify_at(token, now + 1).value().subject == "alice");
  CHECK(a->cache_hits() == 1);

  // Remembered is not trusted past exp (+ leeway): the same answer as a fresh check.
  CHECK_FALSE(a->verify_at(token, now + 300 + 31).ok());
  CHECK(a->verify_at(token, now + 300 + 30).ok());

  // A token one byte away is not the remembered one.
  auto forged = token;  // a signature character far from the end (the last one has spare bits)
  auto& c = forged[forged.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  CHECK_FALSE(a->verify_at(forged, now).ok());

  // The key that signed it leaves the JWKS: the token stops working at the reload,
  // though it was remembered.
  write_jwks(path, {&other});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (a->key_count() != 1 || a->verify_at(token, now).ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // Many users: what is remembered stays within the bound, and every token still verifies.
  write_jwks(path, {&key, &other});
  while (!a->verify_at(token, now).ok()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < 500; ++i) {
    const auto user = "user-" + std::to_string(i);
    const auto t = other.sign(claims_json({user, "iss-a", "aud-a", "", now, now + 300, 0})).value();
    REQUIRE(a->verify_at(t, now).value().subject == user);
    REQUIRE(a->verify_at(t, now).value().subject == user);
  }
  CHECK(a->cached_tokens() <= 64);
}

TEST_CASE("with the cache off every token is checked") {
  const auto key = SigningKey::hs256(std::string(40, 's'));
  Settings s;
  s.hs256_secret = std::string(40, 's');
  s.issuer = "iss-a";
  s.audience = "aud-a";
  s.cache_entries = 0;
  auto a = Authenticator::create(s).value();
  const auto token = mint(key, "alice");
  CHECK(a->verify(token).ok());
  CHECK(a->verify(token).ok());
  CHECK(a->cache_hits() == 0);
  CHECK(a->cached_tokens() == 0);
}
