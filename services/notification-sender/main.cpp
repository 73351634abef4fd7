// notification-sender: tells users on Telegram what happened to their payments, orders
// and coupons. Consumes payment.completed, payment.failed, order.cancelled,
// coupon.issued and coupon.rejected (group notification-sender, concurrent mode) and
// calls the Bot API's sendMessage off the poll loop; failures go to
// dlq.notification-sender, where dlq-retrier takes over. The parts and their start and
// stop order: notification_sender/service.cpp.
#include "notification_sender/config.hpp"
#include "notification_sender/schema.hpp"
#include "notification_sender/service.hpp"

int main(int argc, char** argv) {
  using namespace paypipe;
  runtime::StopSignal stop_signal;  // first: every thread started below inherits its mask
  auto env = core::Env::from_process();
  const auto config = notification_sender::Config::read(env);
  runtime::start_logging(config.common, env);
  const auto migrations = runtime::with_event_tables(notification_sender::schema::embedded_files());
  if (auto code = runtime::common_subcommand(argc, argv, config.common, migrations)) return *code;
  return notification_sender::build_service(config, migrations)->run(stop_signal);
}
