// notification-sender: tells users on Telegram what happened to their payments, orders
// and coupons. Consumes payment.completed, payment.failed, order.cancelled,
// coupon.issued and coupon.rejected (group notification-sender, concurrent mode) and
// calls the Bot API's sendMessage off the poll loop; failures go to
// dlq.notification-sender, where dlq-retrier takes over.
#include <spdlog/spdlog.h>

#include "events/dead_letter.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "notification_sender/config.hpp"
#include "notification_sender/http_api.hpp"
#include "notification_sender/notifier.hpp"
#include "notification_sender/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = notification_sender::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(notification_sender::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;

  // The parts, in dependency order. The consumer comes last: it feeds the notifier,
  // which uses the Telegram client and the database.
  auto database = runtime::open_database(config.common, migrations);
  auto producer = runtime::open_producer(config.common);  // dead letters
  auto topics = notification_sender::consumed_topics();
  topics.push_back(events::retry_topic("notification-sender"));
  topics.push_back(events::dlq_topic("notification-sender"));
  runtime::must(runtime::check_durability(config.common, *producer, topics), "durability check");
  auto telegram = std::make_unique<http::Client>(config.client_options());
  notification_sender::Notifier notifier(config, *database, *telegram);
  notification_sender::NotificationApi api(*database);
  auto consumer = runtime::must(
      events::ConsumerRuntime::concurrent(config.common.kafka, config.consumer, *producer, notifier.handler()),
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
  spdlog::info("notification-sender listening on {}:{}", config.common.http.address, server.port());

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded:
  //  1. stop answering HTTP;
  //  2. stop the consumer: it starts nothing new, waits for the sends under way and their
  //     log writes (a send held by a 429 counts: it goes out if the gate opens within the
  //     bound), stores and commits the offsets of what finished, and leaves the group;
  //  3. the notifier finishes the log work still queued and drops what waits at the gate
  //     (not sent, not committed: redelivered after the restart);
  //  4. close the Telegram client: a send still on the wire is abandoned, and its record,
  //     not committed, is redelivered;
  //  5. flush the producer (dead letters).
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 2 / 10);
  consumer->stop(budget * 5 / 10);
  notifier.stop();
  telegram.reset();
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("notification-sender stopped");
  return exit_code;
}
