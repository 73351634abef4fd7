#include "payment_api/config.hpp"

#include "auth/http_auth.hpp"

namespace paypipe::payment_api {

std::vector<std::string> consumed_topics() { return {"order.created", "order.cancelled", "payment.refund-requested"}; }

std::vector<std::string> produced_topics() { return {"payment.completed", "payment.failed", "payment.refunded"}; }

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "payment-api");
  c.consumer = runtime::read_consumer_settings(env, "payment-api", consumed_topics(), runtime::ConsumerDefaults{});
  c.batch_size = static_cast<std::size_t>(env.integer("PAYPIPE_PAYMENT_BATCH_SIZE", 64, 1, 1000));
  c.batch_linger = std::chrono::microseconds(env.integer("PAYPIPE_PAYMENT_BATCH_LINGER_US", 0, 0, 1'000'000));
  c.workers = static_cast<std::size_t>(env.integer("PAYPIPE_PAYMENT_WORKERS", 4, 1, 64));
  c.queue_limit = static_cast<std::size_t>(env.integer("PAYPIPE_PAYMENT_QUEUE_LIMIT", 2048, 1, 1'000'000));
  c.admin_token = env.secret("PAYPIPE_ADMIN_TOKEN");
  c.auth = auth::Settings::read(env, c.common.local_profile);
  c.rate_limit = auth::read_rate_limit(env);
  c.live = runtime::LiveUpdateSettings::read(env);
  c.currency = runtime::read_currency(env);
  // The pool serves the payment workers, the HTTP workers' reads and the consumer.
  if (!env.has("PAYPIPE_PG_POOL_SIZE")) c.common.database.size = c.workers + 4;
  return c;
}

}  // namespace paypipe::payment_api
