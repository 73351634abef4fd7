#include "notification_sender/service.hpp"

#include <optional>

#include "events/naming.hpp"
#include "http/client.hpp"
#include <spdlog/spdlog.h>

#include "auth/authenticator.hpp"
#include "notification_sender/http_api.hpp"
#include "notification_sender/link_api.hpp"
#include "notification_sender/notifier.hpp"

namespace paypipe::notification_sender {

std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations) {
  auto service = std::make_unique<runtime::Service>(config.common);

  // The parts, in dependency order. The consumer comes last: it feeds the notifier,
  // which uses the Telegram client and the database.
  auto& database = service->own(runtime::open_database(config.common, migrations));
  auto& producer = service->own(runtime::open_producer(config.common));  // dead letters
  const auto topics = events::group_topics(config.consumer.consumer.group, consumed_topics());
  runtime::must(runtime::check_durability(config.common, producer, topics), "durability check");
  auto& telegram = service->make<std::optional<http::Client>>(std::in_place, config.client_options());
  auto& notifier = service->make<Notifier>(config, database, *telegram);
  auto& api = service->make<NotificationApi>(database);
  auto authenticator = runtime::must(auth::Authenticator::create(config.auth), "JWT keys");
  if (!config.auth.configured()) spdlog::warn("no PAYPIPE_JWT_JWKS_FILE: link tokens are refused to everyone (401)");
  if (config.webhook_secret.empty()) {
    spdlog::warn("no PAYPIPE_TELEGRAM_WEBHOOK_SECRET: the bot's webhook refuses every update (403)");
  }
  auto& links = service->make<TelegramLinkApi>(config, database, authenticator, *telegram);
  auto& consumer = service->own(runtime::must(
      events::ConsumerRuntime::concurrent(config.common.kafka, config.consumer, producer, notifier.handler()),
      "Kafka consumer"));

  // Its HTTP routes read PostgreSQL only; a Kafka outage stalls the consumer, which
  // waits it out in place (docs/operations.md).
  runtime::add_database_check(service->readiness(), database, std::move(migrations));
  service->watch_consumer(consumer);
  api.add_routes(service->router());
  links.add_routes(service->router());

  service->add_start("Kafka consumer", [&consumer] { return consumer.start(); });

  // Shutdown, in this order:
  //  1. stop answering HTTP;
  //  2. stop the consumer: it starts nothing new, waits for the sends under way and their
  //     log writes (a send held by a 429 counts: it goes out if the gate opens within the
  //     bound), stores and commits the offsets of what finished, and leaves the group;
  //  3. the notifier finishes the log work still queued and drops what waits at the gate
  //     (not sent, not committed: redelivered after the restart);
  //  4. close the Telegram client: a send still on the wire is abandoned, and its record,
  //     not committed, is redelivered;
  //  5. flush the producer (dead letters).
  service->add_stop_http(2);
  service->add_stop("Kafka consumer", 5, [&consumer](std::chrono::milliseconds bound) { consumer.stop(bound); });
  service->add_stop("notifier", [&notifier] { notifier.stop(); });
  service->add_stop("Telegram client", [&telegram] { telegram.reset(); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::notification_sender
