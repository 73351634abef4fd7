#include "payment_api/health.hpp"

namespace paypipe::payment_api {

void add_health_checks(runtime::Readiness& readiness, runtime::Liveness& liveness, pg::Pool& database,
                       std::vector<core::EmbeddedFile> migrations, const events::ConsumerRuntime& consumer,
                       const events::OutboxRelay& relay, std::chrono::milliseconds watchdog_timeout) {
  runtime::add_database_check(readiness, database, std::move(migrations));
  runtime::watch_consumer(readiness, liveness, consumer, watchdog_timeout);
  runtime::watch_relay(liveness, relay, watchdog_timeout);
}

}  // namespace paypipe::payment_api
