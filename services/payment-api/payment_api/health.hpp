#pragma once
// What payment-api's probes check (docs/operations.md, "Health checks"):
//   /readyz  PostgreSQL reachable with every migration applied, and the consumer not
//            waiting out an infrastructure error. Not Kafka: a payment commits its
//            events to the outbox, which the relay publishes when Kafka is back.
//   /healthz the consumer loop and the outbox relay running, each gone round within
//            the watchdog bound.

#include <chrono>
#include <vector>

#include "core/embedded.hpp"
#include "events/consumer_runtime.hpp"
#include "events/outbox.hpp"
#include "pg/pool.hpp"
#include "runtime/daemon.hpp"

namespace paypipe::payment_api {

// The parts must outlive the checks (the daemon declares them before the server).
void add_health_checks(runtime::Readiness& readiness, runtime::Liveness& liveness, pg::Pool& database,
                       std::vector<core::EmbeddedFile> migrations, const events::ConsumerRuntime& consumer,
                       const events::OutboxRelay& relay, std::chrono::milliseconds watchdog_timeout);

}  // namespace paypipe::payment_api
