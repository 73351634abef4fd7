#include "coupon_issuer/config.hpp"

#include "auth/http_auth.hpp"

namespace paypipe::coupon_issuer {

using std::chrono::milliseconds;

std::vector<std::string> consumed_topics() { return {"coupon.requested"}; }

std::vector<std::string> produced_topics() { return {"coupon.requested", "coupon.issued", "coupon.rejected"}; }

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "coupon-issuer");
  runtime::ConsumerDefaults defaults;
  // Throughput for a hot coupon comes from deciding many requests per transaction
  // (docs/performance.md has the measurements behind this default).
  defaults.batch_size = 1000;
  c.consumer = runtime::read_consumer_settings(env, "coupon-issuer", consumed_topics(), defaults);
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  c.issue_ack_timeout = env.millis("PAYPIPE_COUPON_ISSUE_ACK_TIMEOUT_MS", c.issue_ack_timeout, milliseconds(100),
                                   milliseconds(60000));
  c.pending_batch_size = static_cast<std::size_t>(
      env.integer("PAYPIPE_COUPON_PENDING_BATCH_SIZE", static_cast<std::int64_t>(c.pending_batch_size), 1, 10000));
  c.auth = auth::Settings::read(env, c.common.local_profile);
  c.rate_limit = auth::read_rate_limit(env);
  c.live = runtime::LiveUpdateSettings::read(env);
  // The pool serves the HTTP workers' reads, the two PENDING writers and the consumer.
  if (!env.has("PAYPIPE_PG_POOL_SIZE")) {
    c.common.database.size = static_cast<std::size_t>(c.common.http.worker_threads) + 2 + 2;
  }
  return c;
}

}  // namespace paypipe::coupon_issuer
