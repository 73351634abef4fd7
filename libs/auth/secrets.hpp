#pragma once
// Shared secrets and one-time tokens (OpenSSL): a webhook's secret header, a link token
// handed to a user once and stored only as its hash.

#include <cstddef>
#include <string>
#include <string_view>

namespace paypipe::auth {

// `bytes` random bytes from the OpenSSL CSPRNG, base64url without padding (43 characters
// for 32 bytes: [A-Za-z0-9_-], fit for a URL or a Telegram start parameter).
std::string random_token(std::size_t bytes = 32);

// Lower-case hex SHA-256: how a token is stored and looked up.
std::string sha256_hex(std::string_view text);

// Whether `given` is `expected`, in time that depends on neither: both are hashed
// (SHA-256) and the digests compared with CRYPTO_memcmp, so neither the content nor the
// length of the secret leaks. An empty `expected` (not configured) matches nothing.
bool same_secret(std::string_view given, std::string_view expected);

}  // namespace paypipe::auth
