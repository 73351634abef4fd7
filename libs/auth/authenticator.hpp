#pragma once
// End-user and service identity for the HTTP daemons: bearer JWTs checked against the
// keys of a JWKS file, which is re-read when it changes (at most once per
// reload_interval), so keys rotate without a restart.
//
//   PAYPIPE_JWT_JWKS_FILE        path of the JWKS (a mounted Secret or ConfigMap)
//   PAYPIPE_JWT_ISSUER           the iss every token must carry (required with a key source)
//   PAYPIPE_JWT_AUDIENCE         the aud every token must carry (required with a key source)
//   PAYPIPE_JWT_LEEWAY_SECONDS   clock skew allowed on exp/nbf (default 30)
//   PAYPIPE_JWT_HS256_SECRET     a shared HS256 secret: the local profile only, refused elsewhere
//   PAYPIPE_JWT_CACHE_ENTRIES    verified tokens remembered (default 10000; 0 = check every time)
//
// A signature check costs 47 us (RS256) to 169 us (ES256) of CPU, most of a payment's
// budget, and a client sends the same token with every request until it expires. So a
// token that verified is remembered, by its SHA-256, with its claims and the key set it
// verified against: a later request with the very same bytes skips the signature, but not
// exp (checked again each time, with the leeway), and a reload of the keys forgets
// everything (a key that left the JWKS stops its tokens at once). Only successes are
// remembered; the bound is per shard, and a full shard drops what expired, then all.
//
// With neither a JWKS file nor a secret, every end-user request is refused (401) and
// the daemon says so at start, like an unset admin token.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "auth/jwt.hpp"
#include "core/env.hpp"

namespace paypipe::auth {

struct Settings {
  std::string jwks_file;
  std::string issuer;
  std::string audience;
  std::chrono::seconds leeway{30};
  std::string hs256_secret;
  std::chrono::milliseconds reload_interval{1000};
  std::size_t cache_entries = 10000;

  bool configured() const { return !jwks_file.empty() || !hs256_secret.empty(); }
  // Reads the variables above; errors are recorded in `env` (reported by finish()).
  static Settings read(core::Env& env, bool local_profile);
};

class Authenticator {
 public:
  // Loads the JWKS now: a missing or invalid file fails (so a daemon refuses to start).
  static core::Result<std::shared_ptr<Authenticator>> create(Settings settings);

  // Verifies a token against the current keys (re-reading the file first if it is due
  // and changed; a file that no longer parses keeps the previous keys and is logged).
  core::Result<Claims> verify(std::string_view token) const;
  // The same at a given time (seconds since the epoch): for tests of expiry.
  core::Result<Claims> verify_at(std::string_view token, std::int64_t now_seconds) const;
  const Settings& settings() const { return settings_; }
  std::size_t key_count() const;
  std::uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }
  std::size_t cached_tokens() const;

 private:
  explicit Authenticator(Settings settings);
  class VerifiedTokens;
  struct FileStamp {
    long long mtime_ns = -1;
    long long size = -1;
    unsigned long long inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  core::Status load() const;
  void maybe_reload() const;

  Settings settings_;
  Expectations expect_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const KeySet> keys_;
  mutable std::uint64_t keys_generation_ = 0;  // + 1 at every load: what was remembered is forgotten
  mutable FileStamp stamp_;
  mutable std::atomic<long long> next_check_ns_{0};
  std::shared_ptr<VerifiedTokens> verified_;  // null with cache_entries 0
  mutable std::atomic<std::uint64_t> cache_hits_{0};
};

}  // namespace paypipe::auth
