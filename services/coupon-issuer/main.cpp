// coupon-issuer: first come, first served coupons. POST .../issue answers 202 once
// Kafka holds the request (coupon.requested, keyed by coupon id); the consumer of the
// same service decides each coupon's requests in arrival order, a batch per
// transaction, and announces coupon.issued / coupon.rejected through the outbox.
#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "events/outbox.hpp"
#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "coupon_issuer/config.hpp"
#include "coupon_issuer/coupon_decider.hpp"
#include "coupon_issuer/http_api.hpp"
#include "coupon_issuer/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = coupon_issuer::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(coupon_issuer::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;

  // The parts, in dependency order.
  auto database = runtime::open_database(config.common, migrations);
  auto producer = runtime::open_producer(config.common);  // outbox relay and dead letters
  auto topics = coupon_issuer::consumed_topics();
  for (const auto& t : coupon_issuer::produced_topics()) topics.push_back(t);
  runtime::must(runtime::check_durability(config.common, *producer, topics), "durability check");
  events::OutboxRelay relay(config.common.database.connect, *producer, config.common.relay_settings());
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: every end-user request is refused (401)");
  coupon_issuer::CouponApi api(config, *database,
                               runtime::must(coupon_issuer::open_request_producer(config), "Kafka request producer"),
                               authenticator);
  coupon_issuer::CouponDecider decider(*database, "/paypipe/coupon-issuer");
  auto consumer = runtime::must(
      events::ConsumerRuntime::batch(config.common.kafka, config.consumer, *producer, decider.handler()),
      "Kafka consumer");

  // The issue route answers 202 only once Kafka holds the request: it needs Kafka.
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::add_standard_checks(readiness, *database, migrations, *producer);
  runtime::watch_consumer(readiness, liveness, *consumer, config.common.watchdog_timeout);
  runtime::watch_relay(liveness, relay, config.common.watchdog_timeout);
  http::Router router;
  api.add_routes(router);
  runtime::add_health_routes(router, readiness, liveness);
  http::Server server(config.common.http, std::move(router));

  relay.start();
  runtime::must(consumer->start(), "Kafka consumer");
  runtime::must(server.start(), "HTTP server");
  spdlog::info("coupon-issuer listening on {}:{}", config.common.http.address, server.port());

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded: stop taking requests; wait for
  // Kafka's answers to the issue requests in flight and answer them; stop deciding and
  // commit offsets; publish what the outbox still holds; flush the producer.
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 3 / 10);
  api.stop();
  consumer->stop(budget * 3 / 10);
  relay.stop();
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("coupon-issuer stopped");
  return exit_code;
}
