// order-processor: products and their stock, orders and their state machine. Places an
// order in one transaction (stock held, order.created via the outbox), follows the
// payment events through Kafka, expires unpaid orders and runs the refund saga.
#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "events/idempotency.hpp"
#include "events/outbox.hpp"
#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "order_processor/config.hpp"
#include "order_processor/event_handlers.hpp"
#include "order_processor/expiry_sweeper.hpp"
#include "order_processor/http_api.hpp"
#include "order_processor/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = order_processor::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(order_processor::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;

  // The parts, in dependency order.
  auto database = runtime::open_database(config.common, migrations);
  auto producer = runtime::open_producer(config.common);
  auto topics = order_processor::consumed_topics();
  for (const auto& t : order_processor::produced_topics()) topics.push_back(t);
  runtime::must(runtime::check_durability(config.common, *producer, topics), "durability check");
  events::OutboxRelay relay(config.common.database.connect, *producer, config.common.relay_settings());
  order_processor::ExpirySweeper sweeper(*database, config.expiry);
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: every end-user request is refused (401)");
  order_processor::OrderApi api(config, *database, sweeper, authenticator);
  auto consumer = runtime::must(
      events::ConsumerRuntime::batch(config.common.kafka, config.consumer, *producer,
                                     events::exactly_once_handler(*database, "order-processor",
                                                                  order_processor::apply_event, "order-processor")),
      "Kafka consumer");

  // Readiness without Kafka: orders commit their events to the outbox (docs/operations.md).
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::add_database_check(readiness, *database, migrations);
  runtime::watch_consumer(readiness, liveness, *consumer, config.common.watchdog_timeout);
  runtime::watch_relay(liveness, relay, config.common.watchdog_timeout);
  http::Router router;
  api.add_routes(router);
  runtime::add_health_routes(router, readiness, liveness);
  http::Server server(config.common.http, std::move(router));

  relay.start();
  runtime::must(consumer->start(), "Kafka consumer");
  sweeper.start();
  runtime::must(server.start(), "HTTP server");
  spdlog::info("order-processor listening on {}:{} (expiry sweep every {} ms, 0 = off)", config.common.http.address,
               server.port(), config.expiry.interval.count());

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded: stop taking requests and answer the
  // ones in flight (their orders commit first), then the order batches still queued;
  // stop the expiry sweep (its batch in progress commits or rolls back whole); stop
  // consuming and commit offsets; publish what the outbox still holds; flush the producer.
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 3 / 10);
  api.stop();
  sweeper.stop();
  consumer->stop(budget * 3 / 10);
  relay.stop();
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("order-processor stopped");
  return exit_code;
}
