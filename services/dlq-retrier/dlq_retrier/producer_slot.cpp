#include "dlq_retrier/producer_slot.hpp"

#include <spdlog/spdlog.h>

namespace paypipe::dlq_retrier {

core::Result<ProducerSlot> ProducerSlot::claim(const pg::ConnectOptions& options, std::string scope, int max_slots) {
  auto connect = options;
  connect.application_name = "dlq-retrier-slot";  // visible in pg_stat_activity / pg_locks
  auto connection = pg::Connection::connect(connect);
  if (!connection) return connection.error();
  for (int n = 0; n < max_slots; ++n) {
    // Session-level: held until unlocked or the connection ends, across transactions.
    auto rows = connection->exec("SELECT pg_try_advisory_lock(hashtext($1), $2::int)", scope, n);
    if (!rows) return rows.error();
    if (rows->boolean(0, 0)) {
      spdlog::info("dlq-retrier: producer slot {} of {}", n, scope);
      return ProducerSlot(std::move(connection).value(), std::move(scope), n);
    }
  }
  return core::make_error(core::ErrorCategory::unavailable, "dlq-retrier-no-slot",
                          "all " + std::to_string(max_slots) + " producer slots of " + scope + " are held");
}

void ProducerSlot::release() { connection_.reset(); }

}  // namespace paypipe::dlq_retrier
