#include "ranking_updater/service.hpp"

#include "ranking_updater/http_api.hpp"
#include "ranking_updater/ranking_consumer.hpp"
#include "ranking_updater/ranking_store.hpp"

namespace paypipe::ranking_updater {

std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations) {
  auto service = std::make_unique<runtime::Service>(config.common);

  // The parts, in dependency order.
  auto& database = service->own(runtime::open_database(config.common, migrations));
  {
    auto lease = runtime::must(database.acquire(), "PostgreSQL");
    runtime::must(check_time_zone(*lease, config.time_zone), "time zone");
  }
  auto& producer = service->own(runtime::open_producer(config.common));  // dead letters only
  runtime::must(runtime::check_durability(config.common, producer, consumed_topics()), "durability check");
  auto& api = service->make<RankingApi>(database, config.time_zone);
  auto& rankings = service->make<RankingConsumer>(database, config.time_zone);
  auto& consumer = service->own(
      runtime::must(events::ConsumerRuntime::batch(config.common.kafka, config.consumer, producer, rankings.handler()),
                    "Kafka consumer"));

  // Its HTTP routes read PostgreSQL only; a Kafka outage stalls the consumer, which
  // waits it out in place (docs/operations.md).
  runtime::add_database_check(service->readiness(), database, std::move(migrations));
  service->watch_consumer(consumer);
  api.add_routes(service->router());

  service->add_start("Kafka consumer", [&consumer] { return consumer.start(); });
  service->set_listening_note("days in " + config.time_zone);

  // Shutdown, in this order: stop answering; stop consuming and commit offsets (the
  // batch in progress commits first); flush the dead letters.
  service->add_stop_http(3);
  service->add_stop("Kafka consumer", 5, [&consumer](std::chrono::milliseconds bound) { consumer.stop(bound); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::ranking_updater
