#include "src/config.hpp"

#include <algorithm>

namespace paypipe::order_processor {

using std::chrono::milliseconds;

std::vector<std::string> consumed_topics() { return {"payment.completed", "payment.failed", "payment.refunded"}; }

std::vector<std::string> produced_topics() {
  return {"order.created", "order.completed", "order.cancelled", "product.sold-out", "payment.refund-requested"};
}

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "order-processor");
  c.consumer = runtime::read_consumer_settings(env, "order-processor", consumed_topics(), runtime::ConsumerDefaults{});
  c.order_ttl = env.millis("PAYPIPE_ORDER_TTL_MS", c.order_ttl, milliseconds(100), milliseconds(7LL * 24 * 3600 * 1000));
  c.expiry.interval =
      env.millis("PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS", c.expiry.interval, milliseconds(0), milliseconds(3600000));
  c.expiry.grace = env.millis("PAYPIPE_ORDER_EXPIRY_GRACE_MS", c.expiry.grace, milliseconds(0), milliseconds(3600000));
  c.expiry.batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_ORDER_EXPIRY_BATCH_SIZE", 500, 1, 10000));
  c.currency = env.text("PAYPIPE_ORDER_CURRENCY", c.currency);
  const bool currency_ok = c.currency.size() == 3 && std::all_of(c.currency.begin(), c.currency.end(), [](char ch) {
                             return ch >= 'A' && ch <= 'Z';
                           });
  if (!currency_ok) env.fail("PAYPIPE_ORDER_CURRENCY", "must be three upper-case letters (ISO 4217)");
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  // The pool serves the HTTP workers, the consumer, the expiry sweep and readiness.
  if (!env.has("PAYPIPE_PG_POOL_SIZE")) c.common.database.size = static_cast<std::size_t>(c.common.http.worker_threads) + 3;
  return c;
}

}  // namespace paypipe::order_processor
