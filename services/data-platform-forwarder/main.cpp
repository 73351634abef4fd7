// data-platform-forwarder: forwards payment.completed and order.completed to the
// analytics platform's webhook (CloudEvents JSON, Idempotency-Key = event id), keeps a
// delivery log per event, retries in process (1 s, 2 s, 4 s, 8 s) and then hands the
// record to dlq.data-platform-forwarder, where dlq-retrier takes over.
#include <spdlog/spdlog.h>

#include "events/dead_letter.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "data_platform_forwarder/config.hpp"
#include "data_platform_forwarder/forwarder.hpp"
#include "data_platform_forwarder/http_api.hpp"
#include "data_platform_forwarder/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = data_platform_forwarder::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(data_platform_forwarder::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;

  // The parts, in dependency order; the consumer last, as it feeds the forwarder.
  auto database = runtime::open_database(config.common, migrations);
  auto producer = runtime::open_producer(config.common);  // dead letters
  auto topics = data_platform_forwarder::consumed_topics();
  topics.push_back(events::retry_topic("data-platform-forwarder"));
  topics.push_back(events::dlq_topic("data-platform-forwarder"));
  runtime::must(runtime::check_durability(config.common, *producer, topics), "durability check");
  auto client = std::make_unique<http::Client>(config.client_options());
  data_platform_forwarder::Forwarder forwarder(config, *database, *client);
  data_platform_forwarder::DeliveryApi api(*database);
  auto consumer = runtime::must(
      events::ConsumerRuntime::concurrent(config.common.kafka, config.consumer, *producer, forwarder.handler()),
      "Kafka consumer");

  // Its HTTP routes read PostgreSQL only; a Kafka outage stalls the consumer, which
  // waits it out in place (docs/operations.md).
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::add_database_check(readiness, *database, migrations);
  runtime::watch_consumer(readiness, liveness, *consumer, config.common.watchdog_timeout);
  http::Router router;
  api.add_routes(router);
  runtime::add_health_routes(router, readiness, liveness);
  http::Server server(config.common.http, std::move(router));

  runtime::must(consumer->start(), "Kafka consumer");
  runtime::must(server.start(), "HTTP server");
  spdlog::info("data-platform-forwarder listening on {}:{}", config.common.http.address, server.port());

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded:
  //  1. stop answering HTTP;
  //  2. stop the consumer: it starts nothing new (retries waiting on a timer are
  //     abandoned: their records are not committed and come back after the restart),
  //     waits for the calls on the wire and their log updates, commits, leaves the group;
  //  3. the forwarder finishes the log work still queued;
  //  4. close the HTTP client (a call still on the wire is abandoned and redelivered);
  //  5. flush the producer (dead letters).
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 2 / 10);
  consumer->stop(budget * 5 / 10);
  forwarder.stop();
  client.reset();
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("data-platform-forwarder stopped");
  return exit_code;
}
