#pragma once
// coupon-issuer's configuration: the common settings plus
//   PAYPIPE_ADMIN_TOKEN                   bearer token of POST /v1/coupons (a Secret; unset refuses every call)
//   PAYPIPE_COUPON_ISSUE_ACK_TIMEOUT_MS   how long POST .../issue waits for Kafka's acknowledgement of
//                                         coupon.requested before answering 503 (default 5000)
//   PAYPIPE_COUPON_PENDING_BATCH_SIZE     acknowledged requests recorded as PENDING per statement (default 256)
//   PAYPIPE_JWT_*                         end-user tokens (libs/auth/authenticator.hpp)
//   PAYPIPE_RATE_LIMIT_PER_USER / _BURST  writes per second per user (libs/auth/http_auth.hpp)
//   PAYPIPE_STREAM_*                         live-update streams (libs/runtime/live_updates.hpp)
// and the consumer settings (PAYPIPE_CONSUMER_*, PAYPIPE_RETRY_*; batch size default 1000).

#include <chrono>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "core/env.hpp"
#include "events/consumer_runtime.hpp"
#include "http/rate_limit.hpp"
#include "runtime/config.hpp"
#include "runtime/live_updates.hpp"

namespace paypipe::coupon_issuer {

struct Config {
  runtime::CommonConfig common;
  events::RuntimeSettings consumer;
  std::string admin_token;
  std::chrono::milliseconds issue_ack_timeout{5000};
  std::size_t pending_batch_size = 256;
  auth::Settings auth;
  http::RateLimit rate_limit{20, 40};
  runtime::LiveUpdateSettings live;

  static Config read(core::Env& env);
};

// The topics coupon-issuer consumes.
std::vector<std::string> consumed_topics();
// The topics it produces (for the durability check).
std::vector<std::string> produced_topics();

}  // namespace paypipe::coupon_issuer
