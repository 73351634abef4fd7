#pragma once
// order-processor's configuration: the common settings plus
//   PAYPIPE_ORDER_BATCH_SIZE                 order requests per transaction (default 64; 1 = no batching)
//   PAYPIPE_ORDER_BATCH_LINGER_US            wait this long for a batch to fill (default 0: take what is queued)
//   PAYPIPE_ORDER_WORKERS                    order transactions in flight at once (default 4)
//   PAYPIPE_ORDER_QUEUE_LIMIT                queued order requests before answering 503 (default 20000)
//   PAYPIPE_ORDER_TTL_MS                     how long an unpaid order holds its stock (default 600000 = 10 min)
//   PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS   how often the expiry sweep runs (default 1000; 0 = never,
//                                            then only POST /v1/admin/expiry-sweeps expires orders)
//   PAYPIPE_ORDER_EXPIRY_GRACE_MS            an order is expired this long after its expiresAt (default 30000),
//                                            so a payment accepted just before the deadline completes it
//                                            instead of being refunded, even while this service's consumer
//                                            group recovers from a lost broker or member (10-30 s measured)
//   PAYPIPE_ORDER_EXPIRY_BATCH_SIZE          orders expired per transaction (default 500)
//   PAYPIPE_REFUND_WINDOW_MS                 how long after its payment a user may ask for the refund of an
//                                            order that has not shipped (default 604800000 = 7 days; 0 = never:
//                                            only an admin refunds)
//   PAYPIPE_CURRENCY                         the currency of every price (default KRW; the
//                                            same setting as payment-api's wallets)
//   PAYPIPE_ADMIN_TOKEN                      secret: Bearer token of the admin endpoints (empty = refused)
//   PAYPIPE_JWT_*                            end-user tokens (libs/auth/authenticator.hpp)
//   PAYPIPE_RATE_LIMIT_PER_USER / _BURST     writes per second per user (libs/auth/http_auth.hpp)
//   PAYPIPE_STREAM_*                         live-update streams (libs/runtime/live_updates.hpp)
// and the consumer settings (PAYPIPE_CONSUMER_*, PAYPIPE_RETRY_*).

#include <chrono>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "core/env.hpp"
#include "events/consumer_runtime.hpp"
#include "http/rate_limit.hpp"
#include "runtime/config.hpp"
#include "runtime/live_updates.hpp"

namespace paypipe::order_processor {

struct ExpirySettings {
  std::chrono::milliseconds interval{1000};  // 0: no periodic sweep
  std::chrono::milliseconds grace{30000};
  std::size_t batch_size = 500;
};

struct Config {
  runtime::CommonConfig common;
  events::RuntimeSettings consumer;
  std::size_t batch_size = 64;
  std::chrono::microseconds batch_linger{0};
  std::size_t workers = 4;
  std::size_t queue_limit = 20000;
  std::chrono::milliseconds order_ttl{600000};
  ExpirySettings expiry;
  std::chrono::milliseconds refund_window{7LL * 24 * 3600 * 1000};
  std::string currency = "KRW";
  std::string admin_token;
  auth::Settings auth;
  http::RateLimit rate_limit{20, 40};
  runtime::LiveUpdateSettings live;

  static Config read(core::Env& env);
};

// The topics order-processor consumes.
std::vector<std::string> consumed_topics();
// The topics it produces (for the durability check).
std::vector<std::string> produced_topics();

}  // namespace paypipe::order_processor
