#include "data_platform_forwarder/service.hpp"

#include <optional>

#include "data_platform_forwarder/forwarder.hpp"
#include "data_platform_forwarder/http_api.hpp"
#include "events/naming.hpp"
#include "http/client.hpp"

namespace paypipe::data_platform_forwarder {

std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations) {
  auto service = std::make_unique<runtime::Service>(config.common);

  // The parts, in dependency order; the consumer last, as it feeds the forwarder.
  auto& database = service->own(runtime::open_database(config.common, migrations));
  auto& producer = service->own(runtime::open_producer(config.common));  // dead letters
  const auto topics = events::group_topics(config.consumer.consumer.group, consumed_topics());
  runtime::must(runtime::check_durability(config.common, producer, topics), "durability check");
  auto& client = service->make<std::optional<http::Client>>(std::in_place, config.client_options());
  auto& forwarder = service->make<Forwarder>(config, database, *client);
  auto& api = service->make<DeliveryApi>(database);
  auto& consumer = service->own(runtime::must(
      events::ConsumerRuntime::concurrent(config.common.kafka, config.consumer, producer, forwarder.handler()),
      "Kafka consumer"));

  // Its HTTP routes read PostgreSQL only; a Kafka outage stalls the consumer, which
  // waits it out in place (docs/operations.md).
  runtime::add_database_check(service->readiness(), database, std::move(migrations));
  service->watch_consumer(consumer);
  api.add_routes(service->router());

  service->add_start("Kafka consumer", [&consumer] { return consumer.start(); });

  // Shutdown, in this order:
  //  1. stop answering HTTP;
  //  2. stop the consumer: it starts nothing new (retries waiting on a timer are
  //     abandoned: their records are not committed and come back after the restart),
  //     waits for the calls on the wire and their log updates, commits, leaves the group;
  //  3. the forwarder finishes the log work still queued;
  //  4. close the HTTP client (a call still on the wire is abandoned and redelivered);
  //  5. flush the producer (dead letters).
  service->add_stop_http(2);
  service->add_stop("Kafka consumer", 5, [&consumer](std::chrono::milliseconds bound) { consumer.stop(bound); });
  service->add_stop("forwarder", [&forwarder] { forwarder.stop(); });
  service->add_stop("webhook client", [&client] { client.reset(); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::data_platform_forwarder
