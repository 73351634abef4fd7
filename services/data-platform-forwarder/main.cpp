// data-platform-forwarder: forwards payment.completed and order.completed to the
// analytics platform's webhook (CloudEvents JSON, Idempotency-Key = event id), keeps a
// delivery log per event, retries in process (1 s, 2 s, 4 s, 8 s) and then hands the
// record to dlq.data-platform-forwarder, where dlq-retrier takes over. The parts and
// their start and stop order: data_platform_forwarder/service.cpp.
#include "data_platform_forwarder/config.hpp"
#include "data_platform_forwarder/schema.hpp"
#include "data_platform_forwarder/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = data_platform_forwarder::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(data_platform_forwarder::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  return data_platform_forwarder::build_service(config, migrations)->run(stop_signal);
}
