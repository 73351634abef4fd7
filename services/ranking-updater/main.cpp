// ranking-updater: sales counters (all time and per local day) from order.completed and
// the sold-out ranking from product.sold-out, each batch of events in one transaction,
// served from indexed tables. The parts and their start and stop order:
// ranking_updater/service.cpp.
#include "ranking_updater/config.hpp"
#include "ranking_updater/schema.hpp"
#include "ranking_updater/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = ranking_updater::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(ranking_updater::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  return ranking_updater::build_service(config, migrations)->run(stop_signal);
}
