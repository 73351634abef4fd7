// ranking-updater: sales counters (all time and per local day) from order.completed and
// the sold-out ranking from product.sold-out, each batch of events in one transaction,
// served from indexed tables.
#include <spdlog/spdlog.h>

#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "ranking_updater/config.hpp"
#include "ranking_updater/http_api.hpp"
#include "ranking_updater/ranking_consumer.hpp"
#include "ranking_updater/ranking_store.hpp"
#include "ranking_updater/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = ranking_updater::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(ranking_updater::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;

  // The parts, in dependency order.
  auto database = runtime::open_database(config.common, migrations);
  {
    auto lease = runtime::must(database->acquire(), "PostgreSQL");
    runtime::must(ranking_updater::check_time_zone(*lease, config.time_zone), "time zone");
  }
  auto producer = runtime::open_producer(config.common);  // dead letters only
  runtime::must(runtime::check_durability(config.common, *producer, ranking_updater::consumed_topics()),
                "durability check");
  ranking_updater::RankingApi api(*database, config.time_zone);
  ranking_updater::RankingConsumer rankings(*database, config.time_zone);
  auto consumer = runtime::must(
      events::ConsumerRuntime::batch(config.common.kafka, config.consumer, *producer, rankings.handler()),
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
  spdlog::info("ranking-updater listening on {}:{} (days in {})", config.common.http.address, server.port(),
               config.time_zone);

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded: stop answering; stop consuming and
  // commit offsets (the batch in progress commits first); flush the dead letters.
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 3 / 10);
  consumer->stop(budget * 5 / 10);
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("ranking-updater stopped");
  return exit_code;
}
