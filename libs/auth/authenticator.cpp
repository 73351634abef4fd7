#include "auth/authenticator.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace paypipe::auth {

namespace {

long long steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Settings Settings::read(core::Env& env, bool local_profile) {
  Settings s;
  s.jwks_file = env.text("PAYPIPE_JWT_JWKS_FILE", "");
  s.issuer = env.text("PAYPIPE_JWT_ISSUER", "");
  s.audience = env.text("PAYPIPE_JWT_AUDIENCE", "");
  s.leeway = std::chrono::seconds(env.integer("PAYPIPE_JWT_LEEWAY_SECONDS", 30, 0, 300));
  s.hs256_secret = env.secret("PAYPIPE_JWT_HS256_SECRET");
  if (!s.hs256_secret.empty() && !local_profile) {
    env.fail("PAYPIPE_JWT_HS256_SECRET", "HS256 tokens are accepted only in the local profile (PAYPIPE_PROFILE=local)");
  }
  if (!s.hs256_secret.empty() && s.hs256_secret.size() < 32) {
    env.fail("PAYPIPE_JWT_HS256_SECRET", "must be at least 32 characters");
  }
  if (s.configured()) {
    if (s.issuer.empty()) env.fail("PAYPIPE_JWT_ISSUER", "is required with PAYPIPE_JWT_JWKS_FILE or an HS256 secret");
    if (s.audience.empty())
      env.fail("PAYPIPE_JWT_AUDIENCE", "is required with PAYPIPE_JWT_JWKS_FILE or an HS256 secret");
  }
  return s;
}

Authenticator::Authenticator(Settings settings)
    : settings_(std::move(settings)),
      expect_{settings_.issuer, settings_.audience, settings_.leeway, settings_.hs256_secret},
      keys_(std::make_shared<KeySet>()) {}

core::Result<std::shared_ptr<Authenticator>> Authenticator::create(Settings settings) {
  std::shared_ptr<Authenticator> a(new Authenticator(std::move(settings)));
  if (!a->settings_.jwks_file.empty()) {
    if (auto s = a->load(); !s) return s.error();
  }
  a->next_check_ns_ = steady_ns() + std::chrono::nanoseconds(a->settings_.reload_interval).count();
  return a;
}

core::Status Authenticator::load() const {
  struct stat st{};
  if (::stat(settings_.jwks_file.c_str(), &st) != 0) {
    return core::make_error(core::ErrorCategory::unavailable, "jwks-unreadable",
                            "cannot read the JWKS file " + settings_.jwks_file);
  }
  const FileStamp stamp{static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec,
                        static_cast<long long>(st.st_size), static_cast<unsigned long long>(st.st_ino)};
  std::ifstream in(settings_.jwks_file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return core::make_error(core::ErrorCategory::unavailable, "jwks-unreadable",
                            "cannot read the JWKS file " + settings_.jwks_file);
  }
  auto parsed = KeySet::parse(text.str());
  std::lock_guard lock(mutex_);
  stamp_ = stamp;  // a broken version is not re-read every second, only its successor
  if (!parsed) return parsed.error();
  keys_ = std::make_shared<const KeySet>(std::move(parsed).value());
  return {};
}

void Authenticator::maybe_reload() const {
  if (settings_.jwks_file.empty()) return;
  const long long now = steady_ns();
  long long due = next_check_ns_.load(std::memory_order_relaxed);
  if (now < due) return;
  // One thread checks; the others go on with the current keys.
  if (!next_check_ns_.compare_exchange_strong(due, now + std::chrono::nanoseconds(settings_.reload_interval).count())) {
    return;
  }
  struct stat st{};
  if (::stat(settings_.jwks_file.c_str(), &st) != 0) {
    spdlog::warn("JWKS file {} cannot be read; keeping the {} keys loaded before", settings_.jwks_file, key_count());
    return;
  }
  const FileStamp stamp{static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec,
                        static_cast<long long>(st.st_size), static_cast<unsigned long long>(st.st_ino)};
  {
    std::lock_guard lock(mutex_);
    if (stamp == stamp_) return;
  }
  if (auto s = load(); !s) {
    spdlog::warn("JWKS file {} changed but is not usable ({}); keeping the keys loaded before", settings_.jwks_file,
                 s.error().message);
    return;
  }
  spdlog::info("JWKS file {} reloaded: {} keys", settings_.jwks_file, key_count());
}

std::size_t Authenticator::key_count() const {
  std::lock_guard lock(mutex_);
  return keys_->keys().size();
}

core::Result<Claims> Authenticator::verify(std::string_view token) const {
  if (!settings_.configured()) {
    return core::make_error(core::ErrorCategory::unauthenticated, "invalid-token",
                            "this service has no token keys configured");
  }
  maybe_reload();
  std::shared_ptr<const KeySet> keys;
  {
    std::lock_guard lock(mutex_);
    keys = keys_;
  }
  return auth::verify(token, *keys, expect_, unix_seconds());
}

}  // namespace paypipe::auth
