#include "ranking_updater/config.hpp"

namespace paypipe::ranking_updater {

namespace {

// IANA names: letters, digits and _ + - /, e.g. "Asia/Seoul", "Etc/GMT+9", "UTC".
bool plausible_zone(const std::string& zone) {
  if (zone.empty() || zone.size() > 64) return false;
  for (const char c : zone) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '+' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> consumed_topics() { return {"order.completed", "order.refunded", "product.sold-out"}; }

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "ranking-updater");
  runtime::ConsumerDefaults defaults;
  // A batch is one transaction of a few set-based upserts: bigger batches cost little
  // more than small ones (docs/performance.md has the measurements behind this default).
  defaults.batch_size = 5000;
  c.consumer = runtime::read_consumer_settings(env, "ranking-updater", consumed_topics(), defaults);
  c.time_zone = env.text("PAYPIPE_RANKING_TIME_ZONE", c.time_zone);
  if (!plausible_zone(c.time_zone))
    env.fail("PAYPIPE_RANKING_TIME_ZONE", "must be an IANA time zone name such as Asia/Seoul");
  return c;
}

}  // namespace paypipe::ranking_updater
