#pragma once
// payment-api's configuration: the common settings plus
//   PAYPIPE_PAYMENT_BATCH_SIZE        payment requests per transaction (default 64; 1 = no batching)
//   PAYPIPE_PAYMENT_BATCH_LINGER_US   wait this long for a batch to fill (default 0: take what is queued)
//   PAYPIPE_PAYMENT_WORKERS           transactions in flight at once (default 4)
//   PAYPIPE_PAYMENT_QUEUE_LIMIT       queued requests before answering 503 (default 2048: about
//                                     half a second at the batched maximum; each waiting request
//                                     holds some 14 KiB with its connection, so this bounds memory)
//   PAYPIPE_ADMIN_TOKEN               secret: a credential of POST /v1/wallets/{userId}/deposits
//                                     besides a token with scope wallet:deposit (empty: scope only)
//   PAYPIPE_JWT_*                     end-user tokens (libs/auth/authenticator.hpp)
//   PAYPIPE_RATE_LIMIT_PER_USER / _BURST   writes per second per user (libs/auth/http_auth.hpp)
//   PAYPIPE_STREAM_*                       live-update streams (libs/runtime/live_updates.hpp)
//   PAYPIPE_CURRENCY                  the wallets' currency (default KRW; the same setting
//                                     as order-processor's prices: runtime::read_currency)
// and the consumer settings (PAYPIPE_CONSUMER_*, PAYPIPE_RETRY_*).

#include "auth/authenticator.hpp"
#include "core/batch_queue.hpp"
#include "core/env.hpp"
#include "events/consumer_runtime.hpp"
#include "http/rate_limit.hpp"
#include "runtime/config.hpp"
#include "runtime/live_updates.hpp"

namespace paypipe::payment_api {

struct Config {
  runtime::CommonConfig common;
  events::RuntimeSettings consumer;
  std::size_t batch_size = 64;
  std::chrono::microseconds batch_linger{0};
  std::size_t workers = 4;
  std::size_t queue_limit = 2048;
  std::string admin_token;
  auth::Settings auth;
  http::RateLimit rate_limit{20, 40};
  runtime::LiveUpdateSettings live;
  std::string currency = "KRW";

  static Config read(core::Env& env);
};

// The topics payment-api consumes.
std::vector<std::string> consumed_topics();
// The topics it produces (for the durability check).
std::vector<std::string> produced_topics();

}  // namespace paypipe::payment_api
