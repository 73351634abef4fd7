#pragma once
// ranking-updater's configuration: the common settings plus
//   PAYPIPE_RANKING_TIME_ZONE   IANA zone whose calendar days bucket the daily sales (default Asia/Seoul);
//                               checked against PostgreSQL's time zone database at start-up
// and the consumer settings (PAYPIPE_CONSUMER_*, PAYPIPE_RETRY_*; batch size default 5000).

#include <string>
#include <vector>

#include "core/env.hpp"
#include "events/consumer_runtime.hpp"
#include "runtime/config.hpp"

namespace paypipe::ranking_updater {

struct Config {
  runtime::CommonConfig common;
  events::RuntimeSettings consumer;
  std::string time_zone = "Asia/Seoul";

  static Config read(core::Env& env);
};

// The topics ranking-updater consumes.
std::vector<std::string> consumed_topics();

}  // namespace paypipe::ranking_updater
