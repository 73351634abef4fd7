#pragma once
// data-platform-forwarder's configuration: the common settings plus
//   PAYPIPE_WEBHOOK_URL                 required, http:// or https://
//   PAYPIPE_WEBHOOK_AUTHORIZATION       a Secret: the whole Authorization header value
//                                       (e.g. "Bearer ..."); unset: no header
//   PAYPIPE_WEBHOOK_TIMEOUT_MS          one call, end to end (default 10000)
//   PAYPIPE_WEBHOOK_CONNECT_TIMEOUT_MS  (default 5000)
//   PAYPIPE_WEBHOOK_MAX_RETRY_AFTER_MS  the longest Retry-After honoured (default 300000);
//                                       a longer one is a failure to retry later
//   PAYPIPE_FORWARDER_DB_WORKERS        threads per log stage (start, end) (default 2)
//   PAYPIPE_FORWARDER_DB_BATCH_SIZE     events per log statement (default 256)
//   PAYPIPE_FORWARDER_CLAIM_LEASE_MS    how long a try's claim on its delivery holds before
//                                       another replica may take it over (default 2 x the
//                                       webhook timeout + 5 s: 25000); must exceed
//                                       PAYPIPE_WEBHOOK_TIMEOUT_MS
// and the consumer settings: PAYPIPE_CONSUMER_MAX_IN_FLIGHT (default 256) and
// PAYPIPE_RETRY_* (default exponential, 4 retries after the first try waiting 1 s, 2 s, 4 s, 8 s;
// tests use milliseconds).

#include <string>
#include <vector>

#include "core/env.hpp"
#include "data_platform_forwarder/webhook.hpp"
#include "events/consumer_runtime.hpp"
#include "http/client.hpp"
#include "runtime/config.hpp"

namespace paypipe::data_platform_forwarder {

struct Config {
  runtime::CommonConfig common;
  events::RuntimeSettings consumer;
  WebhookSettings webhook;
  std::chrono::milliseconds connect_timeout{5000};
  runtime::ClaimSettings claims;  // PAYPIPE_FORWARDER_DB_WORKERS, _DB_BATCH_SIZE, _CLAIM_LEASE_MS

  static Config read(core::Env& env);
  http::ClientOptions client_options() const;
};

// The topics data-platform-forwarder consumes.
std::vector<std::string> consumed_topics();

}  // namespace paypipe::data_platform_forwarder
