#include "coupon_issuer/service.hpp"

#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "coupon_issuer/coupon_decider.hpp"
#include "coupon_issuer/http_api.hpp"
#include "events/outbox.hpp"
#include "runtime/live_updates.hpp"

namespace paypipe::coupon_issuer {

std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations) {
  auto service = std::make_unique<runtime::Service>(config.common);

  // The parts, in dependency order.
  auto& database = service->own(runtime::open_database(config.common, migrations));
  auto& producer = service->own(runtime::open_producer(config.common));  // outbox relay and dead letters
  auto topics = consumed_topics();
  for (const auto& t : produced_topics()) topics.push_back(t);
  runtime::must(runtime::check_durability(config.common, producer, topics), "durability check");
  auto& relay = service->make<events::OutboxRelay>(config.common.database.connect, producer,
                                                   config.common.relay_settings());
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: every end-user request is refused (401)");
  // Live updates read coupon_updates (migrations/020), woken by the decisions it produces.
  auto& live = service->make<runtime::LiveUpdates>(config.common.kafka, database, "coupon_updates", produced_topics(),
                                                   config.live);
  auto& api = service->make<CouponApi>(config, database,
                                       runtime::must(open_request_producer(config), "Kafka request producer"),
                                       authenticator, live.hub());
  auto& decider = service->make<CouponDecider>(database, "/paypipe/coupon-issuer");
  auto& consumer = service->own(
      runtime::must(events::ConsumerRuntime::batch(config.common.kafka, config.consumer, producer, decider.handler()),
                    "Kafka consumer"));

  // The issue route answers 202 only once Kafka holds the request: it needs Kafka.
  runtime::add_standard_checks(service->readiness(), database, std::move(migrations), producer);
  service->watch_consumer(consumer);
  service->watch_relay(relay);
  api.add_routes(service->router());

  service->add_start("outbox relay", [&relay] { relay.start(); });
  service->add_start("Kafka consumer", [&consumer] { return consumer.start(); });
  service->add_start("live updates", [&live] { return live.start(); });

  // Shutdown, in this order: stop taking requests; wait for Kafka's answers to the
  // issue requests in flight and answer them; stop deciding and commit offsets; publish
  // what the outbox still holds; flush the producer.
  service->add_stop_http(3);
  service->add_stop("issue requests", [&api] { api.stop(); });
  service->add_stop("live updates", [&live] { live.stop(); });
  service->add_stop("Kafka consumer", 3, [&consumer](std::chrono::milliseconds bound) { consumer.stop(bound); });
  service->add_stop("outbox relay", [&relay] { relay.stop(); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::coupon_issuer
