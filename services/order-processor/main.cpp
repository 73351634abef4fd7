// order-processor: products and their stock, orders and their state machine. Places an
// order in one transaction (stock held, order.created via the outbox), follows the
// payment events through Kafka, expires unpaid orders and runs the refund saga. The
// parts and their start and stop order: order_processor/service.cpp.
#include "order_processor/config.hpp"
#include "order_processor/schema.hpp"
#include "order_processor/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = order_processor::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(order_processor::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  return order_processor::build_service(config, migrations)->run(stop_signal);
}
