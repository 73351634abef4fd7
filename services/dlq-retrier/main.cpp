// dlq-retrier: reads every dlq.<group>, sends dead letters back to retry.<group> after
// their delay, parks what keeps failing, and lets an operator list, replay and purge
// parked records over HTTP or with `dlq-retrier parked ...`, and retry or skip dead
// letters still waiting with `dlq-retrier dead-letters ...` (dlq_retrier/cli.hpp). The
// parts and their start and stop order: dlq_retrier/service.cpp.
#include "dlq_retrier/cli.hpp"
#include "dlq_retrier/config.hpp"
#include "dlq_retrier/schema.hpp"
#include "dlq_retrier/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = dlq_retrier::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(dlq_retrier::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  if (auto code = dlq_retrier::parked_subcommand(argc, argv, config)) return *code;
  if (auto code = dlq_retrier::dead_letters_subcommand(argc, argv, config)) return *code;
  return dlq_retrier::build_service(config, migrations)->run(stop_signal);
}
