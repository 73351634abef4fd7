// coupon-issuer: first come, first served coupons. POST .../issue answers 202 once
// Kafka holds the request (coupon.requested, keyed by coupon id); the consumer of the
// same service decides each coupon's requests in arrival order, a batch per
// transaction, and announces coupon.issued / coupon.rejected through the outbox.
// The parts and their start and stop order: coupon_issuer/service.cpp.
#include "coupon_issuer/config.hpp"
#include "coupon_issuer/schema.hpp"
#include "coupon_issuer/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = coupon_issuer::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(coupon_issuer::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  return coupon_issuer::build_service(config, migrations)->run(stop_signal);
}
