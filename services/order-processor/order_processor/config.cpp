#include "order_processor/config.hpp"

#include <algorithm>

#include "auth/http_auth.hpp"

namespace paypipe::order_processor {

using std::chrono::milliseconds;

std::vector<std::string> consumed_topics() { return {"payment.completed", "payment.failed", "payment.refunded"}; }

std::vector<std::string> produced_topics() {
  return {"order.created",  "order.completed",  "order.cancelled",
          "order.refunded", "product.sold-out", "payment.refund-requested"};
}

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "order-processor");
  c.consumer = runtime::read_consumer_settings(env, "order-processor", consumed_topics(), runtime::ConsumerDefaults{});
  c.batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_ORDER_BATCH_SIZE", 64, 1, 1000));
  c.batch_linger = std::chrono::microseconds(env.integer("PAYPIPE_ORDER_BATCH_LINGER_US", 0, 0, 1'000'000));
  c.workers = static_cast<std::size_t>(env.integer("PAYPIPE_ORDER_WORKERS", 4, 1, 64));
  c.queue_limit = static_cast<std::size_t>(env.integer("PAYPIPE_ORDER_QUEUE_LIMIT", 20000, 1, 1'000'000));
  c.order_ttl = env.millis("PAYPIPE_ORDER_TTL_MS", c.order_ttl, milliseconds(100),
                           milliseconds(7LL * 24 * 3600 * 1000));
  c.expiry.interval = env.millis("PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS", c.expiry.interval, milliseconds(0),
                                 milliseconds(3600000));
  c.expiry.grace = env.millis("PAYPIPE_ORDER_EXPIRY_GRACE_MS", c.expiry.grace, milliseconds(0), milliseconds(3600000));
  c.expiry.batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_ORDER_EXPIRY_BATCH_SIZE", 500, 1, 10000));
  c.refund_window = env.millis("PAYPIPE_REFUND_WINDOW_MS", c.refund_window, milliseconds(0),
                               milliseconds(366LL * 24 * 3600 * 1000));
  c.currency = runtime::read_currency(env);  // shared with payment-api's wallets
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  c.live = runtime::LiveUpdateSettings::read(env);
  c.auth = auth::Settings::read(env, c.common.local_profile);
  c.rate_limit = auth::read_rate_limit(env);
  // The pool serves the order workers, the HTTP workers' other requests, the consumer,
  // the expiry sweep and readiness.
  if (!env.has("PAYPIPE_PG_POOL_SIZE")) {
    c.common.database.size = c.workers + static_cast<std::size_t>(c.common.http.worker_threads) + 3;
  }
  return c;
}

}  // namespace paypipe::order_processor
