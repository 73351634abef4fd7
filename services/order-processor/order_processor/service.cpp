#include "order_processor/service.hpp"

#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "events/idempotency.hpp"
#include "events/outbox.hpp"
#include "order_processor/event_handlers.hpp"
#include "order_processor/expiry_sweeper.hpp"
#include "order_processor/http_api.hpp"
#include "runtime/live_updates.hpp"

namespace paypipe::order_processor {

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
  auto& sweeper = service->make<ExpirySweeper>(database, config.expiry);
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: every end-user request is refused (401)");
  // Live updates read order_updates (migrations/020), woken by the events it produces.
  auto& live = service->make<runtime::LiveUpdates>(config.common.kafka, database, "order_updates", produced_topics(),
                                                   config.live);
  auto& api = service->make<OrderApi>(config, database, sweeper, authenticator, live.hub());
  auto& consumer = service->own(
      runtime::must(events::ConsumerRuntime::batch(
                        config.common.kafka, config.consumer, producer,
                        events::exactly_once_handler(database, "order-processor", apply_events, "order-processor")),
                    "Kafka consumer"));

  // Readiness without Kafka: orders commit their events to the outbox (docs/operations.md).
  runtime::add_database_check(service->readiness(), database, std::move(migrations));
  service->watch_consumer(consumer);
  service->watch_relay(relay);
  api.add_routes(service->router());

  service->add_start("outbox relay", [&relay] { relay.start(); });
  service->add_start("Kafka consumer", [&consumer] { return consumer.start(); });
  service->add_start("expiry sweeper", [&sweeper] { sweeper.start(); });
  service->add_start("live updates", [&live] { return live.start(); });
  service->set_listening_note("expiry sweep every " + std::to_string(config.expiry.interval.count()) + " ms, 0 = off");

  // Shutdown, in this order: stop taking requests and answer the ones in flight (their
  // orders commit first), then the order batches still queued; stop the expiry sweep
  // (its batch in progress commits or rolls back whole); stop consuming and commit
  // offsets; publish what the outbox still holds; flush the producer.
  service->add_stop_http(3);
  service->add_stop("order batches", [&api] { api.stop(); });
  service->add_stop("expiry sweeper", [&sweeper] { sweeper.stop(); });
  service->add_stop("live updates", [&live] { live.stop(); });
  service->add_stop("Kafka consumer", 3, [&consumer](std::chrono::milliseconds bound) { consumer.stop(bound); });
  service->add_stop("outbox relay", [&relay] { relay.stop(); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::order_processor
