#include "payment_api/service.hpp"

#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "events/idempotency.hpp"
#include "events/outbox.hpp"
#include "payment_api/event_handlers.hpp"
#include "payment_api/health.hpp"
#include "payment_api/http_api.hpp"
#include "runtime/live_updates.hpp"

namespace paypipe::payment_api {

std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations) {
  auto service = std::make_unique<runtime::Service>(config.common);

  // The parts, in dependency order.
  auto& database = service->own(runtime::open_database(config.common, migrations));
  auto& producer = service->own(runtime::open_producer(config.common));
  auto topics = consumed_topics();
  for (const auto& t : produced_topics()) topics.push_back(t);
  runtime::must(runtime::check_durability(config.common, producer, topics), "durability check");
  auto& relay = service->make<events::OutboxRelay>(config.common.database.connect, producer,
                                                   config.common.relay_settings());
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: every end-user request is refused (401)");
  // Live updates read payment_updates (migrations/020), woken by the events it produces.
  auto& live = service->make<runtime::LiveUpdates>(config.common.kafka, database, "payment_updates", produced_topics(),
                                                   config.live);
  auto& api = service->make<PaymentApi>(config, database, authenticator, live.hub());
  auto& consumer = service->own(
      runtime::must(events::ConsumerRuntime::batch(
                        config.common.kafka, config.consumer, producer,
                        events::exactly_once_handler(database, "payment-api", apply_events, "payment-api")),
                    "Kafka consumer"));

  // Readiness without Kafka: payments commit their events to the outbox (docs/operations.md).
  add_health_checks(service->readiness(), service->liveness(), database, std::move(migrations), consumer, relay,
                    config.common.watchdog_timeout);
  api.add_routes(service->router());

  service->add_start("outbox relay", [&relay] { relay.start(); });
  service->add_start("Kafka consumer", [&consumer] { return consumer.start(); });
  service->add_start("live updates", [&live] { return live.start(); });

  // Shutdown, in this order: stop taking requests and answer the ones in flight (their
  // payments commit first); stop consuming and commit offsets; publish what the outbox
  // still holds; flush the producer.
  service->add_stop_http(4);
  service->add_stop("payment batches", [&api] { api.stop(); });
  service->add_stop("live updates", [&live] { live.stop(); });
  service->add_stop("Kafka consumer", 3, [&consumer](std::chrono::milliseconds bound) { consumer.stop(bound); });
  service->add_stop("outbox relay", [&relay] { relay.stop(); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::payment_api
