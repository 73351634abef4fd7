// payment-api: wallets and payments. Answers a payment in milliseconds; everything
// after it happens through Kafka (payment.completed / payment.failed via the outbox).
// The parts and their start and stop order: payment_api/service.cpp.
#include "payment_api/config.hpp"
#include "payment_api/schema.hpp"
#include "payment_api/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = payment_api::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(payment_api::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  return payment_api::build_service(config, migrations)->run(stop_signal);
}
