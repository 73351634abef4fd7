#include "dlq_retrier/service.hpp"

#include <spdlog/spdlog.h>

#include "dlq_retrier/http_api.hpp"
#include "dlq_retrier/parked_gauge.hpp"
#include "dlq_retrier/parked_operations.hpp"
#include "dlq_retrier/producer_slot.hpp"
#include "dlq_retrier/retrier.hpp"
#include "dlq_retrier/waiting_operations.hpp"
#include "dlq_retrier/waiting_store.hpp"
#include "runtime/periodic.hpp"

namespace paypipe::dlq_retrier {

std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations) {
  if (config.admin_token.empty())
    spdlog::warn("PAYPIPE_ADMIN_TOKEN is not set: every /v1/parked and /v1/dead-letters request is refused");
  auto service = std::make_unique<runtime::Service>(config.common);

  // The parts, in dependency order. `producer` sends operators' replays; the retrier
  // owns its own transactional producer for republishing.
  auto& database = service->own(runtime::open_database(config.common, migrations));
  auto& producer = service->own(runtime::open_producer(config.common));
  runtime::must(runtime::check_durability(config.common, producer, known_topics(config.common.kafka.naming)),
                "durability check");
  auto& operations = service->make<ParkedOperations>(database, producer, config.common.kafka);
  auto& waiting = service->make<WaitingOperations>(database, producer, config.common.kafka, config.schedule,
                                                   consumer_group);
  auto& parked_gauge = service->make<ParkedGauge>(database, std::chrono::seconds(5));
  auto& retried_pruning = service->make<runtime::Periodic>(
      "retried-prune", std::chrono::minutes(10),
      [&database, retention = config.retried_retention] { prune_retried_pass(database, retention); });

  // The transactional.id: explicit, or from a producer slot that a replacement of a
  // killed replica inherits (its init then aborts what we left open). The slot's
  // connection is held until exit; added before the retrier, so it outlives it.
  std::string transactional_id = config.transactional_id;
  if (transactional_id.empty()) {
    auto& slot = service->make<ProducerSlot>(
        runtime::must(ProducerSlot::claim(config.common.database.connect, config.slot_scope()), "producer slot"));
    transactional_id = slot.transactional_id();
  }

  RetrierSettings settings;
  settings.schedule = config.schedule;
  settings.consumer = config.consumer_settings();
  settings.transactional = {transactional_id, config.transaction_timeout};
  settings.batch_size = config.batch_size;
  // Fenced by another instance with our transactional.id (our slot's connection was lost
  // and another replica took the slot), or a fatal broker answer: exit 70 and let
  // Kubernetes restart us; the restart claims a free slot.
  settings.on_fatal = [](const core::Error&) { runtime::StopSignal::request_stop(70); };
  auto& retrier = service->own(runtime::must(Retrier::create(config.common.kafka, settings, database), "retrier"));

  // Operators' replays produce to Kafka at once: it needs Kafka. The retrier loop has
  // no heartbeat of its own yet: liveness checks that it runs.
  runtime::add_standard_checks(service->readiness(), database, std::move(migrations), producer);
  runtime::watch_loop(service->readiness(), service->liveness(), "retrier",
                      runtime::LoopSignals{[&retrier] { return retrier.running(); }, {}, {}},
                      config.common.watchdog_timeout);
  add_parked_routes(service->router(), operations, config.admin_token);
  add_waiting_routes(service->router(), waiting, config.admin_token);

  service->add_start("retrier", [&retrier] { return retrier.start(); });
  service->add_start("parked gauge", [&parked_gauge] { parked_gauge.start(); });
  service->add_start("retried pruning", [&retried_pruning] { retried_pruning.start(); });
  service->set_listening_note("transactional.id " + transactional_id);

  // Shutdown, in this order: stop taking requests and finish the replays in flight;
  // stop the retrier (it commits the batch in hand in its Kafka transaction and leaves
  // the group; waiting records are read again by the next owner); stop counting parked
  // rows and pruning retried ones; flush the replay producer. The retrier's
  // transactional producer closes with it, with no transaction open.
  service->add_stop_http(4);
  service->add_stop("retrier", 4, [&retrier](std::chrono::milliseconds bound) { retrier.stop(bound); });
  service->add_stop("parked gauge", [&parked_gauge] { parked_gauge.stop(); });
  service->add_stop("retried pruning", [&retried_pruning] { retried_pruning.stop(); });
  service->add_stop_flush(producer, 2);
  return service;
}

}  // namespace paypipe::dlq_retrier
