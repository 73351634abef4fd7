#include "auth/authenticator.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

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

// Tokens that verified, by SHA-256 of their bytes (a digest, not the token: 32 bytes a
// token, and no bearer credential kept in memory longer than its request needs).
// Sharded so that the HTTP threads seldom wait for each other.
class Authenticator::VerifiedTokens {
 public:
  explicit VerifiedTokens(std::size_t entries) : per_shard_(std::max<std::size_t>(1, entries / shards)) {}

  static std::string digest(std::string_view token) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int size = 0;
    if (EVP_Digest(token.data(), token.size(), md.data(), &size, EVP_sha256(), nullptr) != 1) return {};
    return {reinterpret_cast<const char*>(md.data()), size};
  }

  std::optional<Claims> find(const std::string& digest, std::uint64_t generation) {
    auto& shard = shard_of(digest);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.tokens.find(digest);
    if (it == shard.tokens.end() || it->second.generation != generation) return std::nullopt;
    return it->second.claims;
  }

  void remember(std::string digest, const Claims& claims, std::uint64_t generation, std::int64_t forget_after,
                std::int64_t now) {
    auto& shard = shard_of(digest);
    std::lock_guard lock(shard.mutex);
    if (shard.tokens.size() >= per_shard_) {
      std::erase_if(shard.tokens,
                    [&](const auto& kv) { return kv.second.generation != generation || kv.second.forget_after < now; });
      if (shard.tokens.size() >= per_shard_) shard.tokens.clear();
    }
    shard.tokens.insert_or_assign(std::move(digest), Entry{claims, generation, forget_after});
  }

  std::size_t size() {
    std::size_t n = 0;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      n += shard.tokens.size();
    }
    return n;
  }

 private:
  static constexpr std::size_t shards = 16;
  struct Entry {
    Claims claims;
    std::uint64_t generation = 0;
    std::int64_t forget_after = 0;  // exp + leeway
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> tokens;
  };
  Shard& shard_of(const std::string& digest) {
    return shards_[digest.empty() ? 0 : static_cast<unsigned char>(digest[0]) % shards];
  }

  std::size_t per_shard_;
  std::array<Shard, shards> shards_;
};

Settings Settings::read(core::Env& env, bool local_profile) {
  Settings s;
  s.jwks_file = env.text("PAYPIPE_JWT_JWKS_FILE", "");
  s.issuer = env.text("PAYPIPE_JWT_ISSUER", "");
  s.audience = env.text("PAYPIPE_JWT_AUDIENCE", "");
  s.leeway = std::chrono::seconds(env.integer("PAYPIPE_JWT_LEEWAY_SECONDS", 30, 0, 300));
  s.hs256_secret = env.secret("PAYPIPE_JWT_HS256_SECRET");
  s.cache_entries = static_cast<std::size_t>(env.integer("PAYPIPE_JWT_CACHE_ENTRIES", 10000, 0, 1'000'000));
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
      keys_(std::make_shared<KeySet>()),
      verified_(settings_.cache_entries > 0 ? std::make_shared<VerifiedTokens>(settings_.cache_entries) : nullptr) {}

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
  ++keys_generation_;
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

std::size_t Authenticator::cached_tokens() const { return verified_ ? verified_->size() : 0; }

std::size_t Authenticator::key_count() const {
  std::lock_guard lock(mutex_);
  return keys_->keys().size();
}

core::Result<Claims> Authenticator::verify(std::string_view token) const { return verify_at(token, unix_seconds()); }

core::Result<Claims> Authenticator::verify_at(std::string_view token, std::int64_t now_seconds) const {
  if (!settings_.configured()) {
    return core::make_error(core::ErrorCategory::unauthenticated, "invalid-token",
                            "this service has no token keys configured");
  }
  maybe_reload();
  std::shared_ptr<const KeySet> keys;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    keys = keys_;
    generation = keys_generation_;
  }
  if (!verified_) return auth::verify(token, *keys, expect_, now_seconds);
  auto digest = VerifiedTokens::digest(token);
  if (auto claims = digest.empty() ? std::nullopt : verified_->find(digest, generation)) {
    // The very bytes that verified against these keys; exp as a fresh check has it.
    if (now_seconds <= claims->expires_at + expect_.leeway.count()) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return std::move(*claims);
    }
  }
  auto claims = auth::verify(token, *keys, expect_, now_seconds);
  if (claims && !digest.empty()) {
    verified_->remember(std::move(digest), *claims, generation, claims->expires_at + expect_.leeway.count(),
                        now_seconds);
  }
  return claims;
}

}  // namespace paypipe::auth
