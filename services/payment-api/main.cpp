// payment-api: wallets and payments. Answers a payment in milliseconds; everything
// after it happens through Kafka (payment.completed / payment.failed via the outbox).
#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "events/idempotency.hpp"
#include "events/outbox.hpp"
#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "payment_api/config.hpp"
#include "payment_api/event_handlers.hpp"
#include "payment_api/health.hpp"
#include "payment_api/http_api.hpp"
#include "payment_api/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = payment_api::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(payment_api::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;

  // The parts, in dependency order.
  auto database = runtime::open_database(config.common, migrations);
  auto producer = runtime::open_producer(config.common);
  auto topics = payment_api::consumed_topics();
  for (const auto& t : payment_api::produced_topics()) topics.push_back(t);
  runtime::must(runtime::check_durability(config.common, *producer, topics), "durability check");
  events::OutboxRelay relay(config.common.database.connect, *producer, config.common.relay_settings());
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: every end-user request is refused (401)");
  payment_api::PaymentApi api(config, *database, authenticator);
  auto consumer = runtime::must(
      events::ConsumerRuntime::batch(
          config.common.kafka, config.consumer, *producer,
          events::exactly_once_handler(*database, "payment-api", payment_api::apply_event, "payment-api")),
      "Kafka consumer");

  // Readiness without Kafka: payments commit their events to the outbox (docs/operations.md).
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  payment_api::add_health_checks(readiness, liveness, *database, migrations, *consumer, relay,
                                 config.common.watchdog_timeout);
  http::Router router;
  api.add_routes(router);
  runtime::add_health_routes(router, readiness, liveness);
  http::Server server(config.common.http, std::move(router));

  relay.start();
  runtime::must(consumer->start(), "Kafka consumer");
  runtime::must(server.start(), "HTTP server");
  spdlog::info("payment-api listening on {}:{}", config.common.http.address, server.port());

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded: stop taking requests and answer the
  // ones in flight (their payments commit first); stop consuming and commit offsets;
  // publish what the outbox still holds; flush the producer.
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 4 / 10);
  api.stop();
  consumer->stop(budget * 3 / 10);
  relay.stop();
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("payment-api stopped");
  return exit_code;
}
