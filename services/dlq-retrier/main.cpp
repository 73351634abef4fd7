// dlq-retrier: reads every dlq.<group>, sends dead letters back to retry.<group> after
// their delay, parks what keeps failing, and lets an operator list, replay and purge
// parked records over HTTP or with `dlq-retrier parked ...` (src/cli.hpp).
#include <spdlog/spdlog.h>

#include "http/server.hpp"
#include "runtime/daemon.hpp"
#include "dlq_retrier/cli.hpp"
#include "dlq_retrier/config.hpp"
#include "dlq_retrier/http_api.hpp"
#include "dlq_retrier/parked_gauge.hpp"
#include "dlq_retrier/parked_operations.hpp"
#include "dlq_retrier/producer_slot.hpp"
#include "dlq_retrier/retrier.hpp"
#include "dlq_retrier/schema.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = dlq_retrier::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(dlq_retrier::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  if (auto code = dlq_retrier::parked_subcommand(argc, argv, config)) return *code;
  if (config.admin_token.empty()) spdlog::warn("PAYPIPE_ADMIN_TOKEN is not set: every /v1/parked request is refused");

  // The parts, in dependency order. `producer` sends operators' replays; the retrier
  // owns its own transactional producer for republishing.
  auto database = runtime::open_database(config.common, migrations);
  auto producer = runtime::open_producer(config.common);
  runtime::must(runtime::check_durability(config.common, *producer, dlq_retrier::known_topics()), "durability check");
  dlq_retrier::ParkedOperations operations(*database, *producer, config.common.kafka);
  dlq_retrier::ParkedGauge parked_gauge(*database, std::chrono::seconds(5));

  // The transactional.id: explicit, or from a producer slot that a replacement of a
  // killed replica inherits (its init then aborts what we left open). The slot's
  // connection is held until exit; declared before the retrier, so it outlives it.
  std::optional<dlq_retrier::ProducerSlot> slot;
  std::string transactional_id = config.transactional_id;
  if (transactional_id.empty()) {
    slot = runtime::must(dlq_retrier::ProducerSlot::claim(config.common.database.connect, config.slot_scope()),
                         "producer slot");
    transactional_id = slot->transactional_id();
  }

  dlq_retrier::RetrierSettings settings;
  settings.schedule = config.schedule;
  settings.consumer = config.consumer_settings();
  settings.transactional = {transactional_id, config.transaction_timeout};
  settings.batch_size = config.batch_size;
  // Fenced by another instance with our transactional.id (our slot's connection was lost
  // and another replica took the slot), or a fatal broker answer: exit 70 and let
  // Kubernetes restart us; the restart claims a free slot.
  settings.on_fatal = [](const core::Error&) { runtime::StopSignal::request_stop(70); };
  auto retrier = runtime::must(dlq_retrier::Retrier::create(config.common.kafka, settings, *database), "retrier");

  // Operators' replays produce to Kafka at once: it needs Kafka. The retrier loop has
  // no heartbeat of its own yet: liveness checks that it runs.
  runtime::Readiness readiness;
  runtime::Liveness liveness;
  runtime::add_standard_checks(readiness, *database, migrations, *producer);
  runtime::watch_loop(readiness, liveness, "retrier",
                      runtime::LoopSignals{[&retrier] { return retrier->running(); }, {}, {}},
                      config.common.watchdog_timeout);
  http::Router router;
  dlq_retrier::add_parked_routes(router, operations, config.admin_token);
  runtime::add_health_routes(router, readiness, liveness);
  http::Server server(config.common.http, std::move(router));

  runtime::must(retrier->start(), "retrier");
  parked_gauge.start();
  runtime::must(server.start(), "HTTP server");
  spdlog::info("dlq-retrier listening on {}:{} (transactional.id {})", config.common.http.address, server.port(),
               transactional_id);

  const int exit_code = stop_signal.wait();

  // Shutdown, in this order and each step bounded: stop taking requests and finish the
  // replays in flight; stop the retrier (it commits the batch in hand in its Kafka
  // transaction and leaves the group; waiting records are read again by the next
  // owner); stop counting parked rows; flush the replay producer. The retrier's
  // transactional producer closes with it, with no transaction open.
  const auto budget = config.common.shutdown_timeout;
  server.stop(budget * 4 / 10);
  retrier->stop(budget * 4 / 10);
  parked_gauge.stop();
  if (auto s = producer->flush(budget * 2 / 10); !s) spdlog::warn("producer flush: {}", s.error().message);
  spdlog::info("dlq-retrier stopped");
  return exit_code;
}
