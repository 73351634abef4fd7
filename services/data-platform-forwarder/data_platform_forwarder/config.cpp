#include "data_platform_forwarder/config.hpp"

#include <algorithm>

namespace paypipe::data_platform_forwarder {

using std::chrono::milliseconds;

std::vector<std::string> consumed_topics() { return {"payment.completed", "order.completed", "order.refunded"}; }

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "data-platform-forwarder");
  runtime::ConsumerDefaults defaults;
  defaults.max_in_flight = 256;
  // The design's webhook backoff: 1, 2, 4, 8 s, i.e. ExponentialBackOffWithMaxRetries(4).
  defaults.retry = events::RetryPolicy::exponential_backoff(4, milliseconds(1000), 2.0, milliseconds(8000));
  c.consumer = runtime::read_consumer_settings(env, "data-platform-forwarder", consumed_topics(), defaults);

  c.webhook.url = env.required_text("PAYPIPE_WEBHOOK_URL");
  if (!c.webhook.url.empty() && c.webhook.url.rfind("http://", 0) != 0 && c.webhook.url.rfind("https://", 0) != 0) {
    env.fail("PAYPIPE_WEBHOOK_URL", "must start with http:// or https://");
  }
  c.webhook.authorization = env.secret("PAYPIPE_WEBHOOK_AUTHORIZATION");
  if (c.webhook.authorization.find_first_of("\r\n") != std::string::npos) {
    env.fail("PAYPIPE_WEBHOOK_AUTHORIZATION", "must be one line");
  }
  c.webhook.timeout = env.millis("PAYPIPE_WEBHOOK_TIMEOUT_MS", milliseconds(10000), milliseconds(10),
                                 milliseconds(600000));
  c.webhook.max_retry_after = env.millis("PAYPIPE_WEBHOOK_MAX_RETRY_AFTER_MS", milliseconds(300000), milliseconds(1000),
                                         milliseconds(3600000));
  c.connect_timeout = env.millis("PAYPIPE_WEBHOOK_CONNECT_TIMEOUT_MS", milliseconds(5000), milliseconds(10),
                                 milliseconds(60000));
  c.claims = runtime::read_claim_settings(env, "PAYPIPE_FORWARDER", c.webhook.timeout, "PAYPIPE_WEBHOOK_TIMEOUT_MS",
                                          c.common);
  return c;
}

http::ClientOptions Config::client_options() const {
  http::ClientOptions o;
  o.connect_timeout = connect_timeout;
  o.request_timeout = webhook.timeout;
  o.max_idle_per_host = std::max<std::size_t>(consumer.max_in_flight, 8);
  o.user_agent = "paypipe-data-platform-forwarder/0.1";
  return o;
}

}  // namespace paypipe::data_platform_forwarder
