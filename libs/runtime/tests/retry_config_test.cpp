#include "runtime/retry_config.hpp"

#include <catch2/catch.hpp>

#include "runtime/config.hpp"

using namespace paypipe;
using std::chrono::milliseconds;

namespace {

const auto fixed_default = events::RetryPolicy::fixed_backoff(milliseconds(1000), 3);
const auto forwarder_default = events::RetryPolicy::exponential_backoff(4, milliseconds(1000), 2.0, milliseconds(8000));

struct Read {
  events::RetryPolicy policy;
  core::Status status;
  std::vector<std::string> warnings;
};

Read read(std::map<std::string, std::string> vars, const events::RetryPolicy& defaults = fixed_default,
          const runtime::RetryVariables& variables = runtime::consumer_retry_variables) {
  core::Env env(std::move(vars));
  auto policy = runtime::read_retry_policy(env, variables, defaults);
  return Read{policy, env.finish(), env.warnings()};
}

bool mentions(const std::vector<std::string>& lines, std::string_view text) {
  for (const auto& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Spring's FixedBackOff(1000, 3) is 3 retries after the first attempt, 4 in all") {
  const auto p = events::RetryPolicy::fixed_backoff(milliseconds(1000), 3);
  CHECK(p.max_retries() == 3);
  CHECK(p.max_attempts == 4);
  CHECK(p.fixed());
  for (int retry = 1; retry <= 3; ++retry) CHECK(p.delay(retry) == milliseconds(1000));
  CHECK(p.allows_another(3));
  CHECK_FALSE(p.allows_another(4));
  CHECK(runtime::describe(p) == "fixed backoff, 3 retries 1000 ms apart");

  const auto e = events::RetryPolicy::exponential_backoff(4, milliseconds(1000), 2.0, milliseconds(8000));
  CHECK(e.max_attempts == 5);
  CHECK(e.delay(4) == milliseconds(8000));
  CHECK(runtime::describe(e) == "exponential backoff, 4 retries, 1000 ms x2 up to 8000 ms");
}

TEST_CASE("no variables: the defaults, and a consumer's default is the Spring services' FixedBackOff(1000, 3)") {
  const auto r = read({});
  REQUIRE(r.status.ok());
  CHECK(r.warnings.empty());
  CHECK(r.policy.max_retries() == 3);
  CHECK(r.policy.initial_delay == milliseconds(1000));
  CHECK(r.policy.fixed());
  CHECK(runtime::ConsumerDefaults{}.retry.max_retries() == 3);
  CHECK(runtime::ConsumerDefaults{}.retry.initial_delay == milliseconds(1000));
  CHECK(runtime::ConsumerDefaults{}.retry.fixed());
}

TEST_CASE("the new variables, fixed and exponential") {
  auto r = read({{"PAYPIPE_RETRY_MAX_RETRIES", "0"}, {"PAYPIPE_RETRY_INTERVAL_MS", "250"}});
  REQUIRE(r.status.ok());
  CHECK(r.policy.max_attempts == 1);
  CHECK(r.policy.initial_delay == milliseconds(250));
  CHECK(r.policy.max_delay == milliseconds(250));

  r = read({{"PAYPIPE_RETRY_BACKOFF", "exponential"},
            {"PAYPIPE_RETRY_MAX_RETRIES", "5"},
            {"PAYPIPE_RETRY_INTERVAL_MS", "500"},
            {"PAYPIPE_RETRY_MULTIPLIER", "1.5"},
            {"PAYPIPE_RETRY_MAX_INTERVAL_MS", "30000"}});
  REQUIRE(r.status.ok());
  CHECK(r.warnings.empty());
  CHECK(r.policy.max_retries() == 5);
  CHECK(r.policy.multiplier == 1.5);
  CHECK(r.policy.delay(2) == milliseconds(750));
  CHECK(r.policy.max_delay == milliseconds(30000));

  // Exponential over a fixed default: the unset parts are x2 up to 8 s.
  r = read({{"PAYPIPE_RETRY_BACKOFF", "exponential"}});
  REQUIRE(r.status.ok());
  CHECK(r.policy.multiplier == 2.0);
  CHECK(r.policy.max_delay == milliseconds(8000));

  // The forwarder's exponential default is kept for what is not set; fixed overrides it.
  r = read({{"PAYPIPE_RETRY_MAX_RETRIES", "2"}}, forwarder_default);
  REQUIRE(r.status.ok());
  CHECK(runtime::describe(r.policy) == "exponential backoff, 2 retries, 1000 ms x2 up to 8000 ms");
  r = read({{"PAYPIPE_RETRY_BACKOFF", "fixed"}}, forwarder_default);
  REQUIRE(r.status.ok());
  CHECK(runtime::describe(r.policy) == "fixed backoff, 4 retries 1000 ms apart");
}

TEST_CASE("bad values and exponential-only settings under a fixed backoff are errors, by name") {
  const auto r = read({{"PAYPIPE_RETRY_BACKOFF", "linear"},
                       {"PAYPIPE_RETRY_MAX_RETRIES", "-1"},
                       {"PAYPIPE_RETRY_MULTIPLIER", "2.0"},
                       {"PAYPIPE_RETRY_MAX_INTERVAL_MS", "8000"}});
  REQUIRE_FALSE(r.status.ok());
  const auto& m = r.status.error().message;
  CHECK(m.find("PAYPIPE_RETRY_BACKOFF: must be one of fixed, exponential") != std::string::npos);
  CHECK(m.find("PAYPIPE_RETRY_MAX_RETRIES: must be between 0 and 100") != std::string::npos);
  CHECK(m.find("PAYPIPE_RETRY_MULTIPLIER: only with PAYPIPE_RETRY_BACKOFF=exponential") != std::string::npos);
  CHECK(m.find("PAYPIPE_RETRY_MAX_INTERVAL_MS: only with PAYPIPE_RETRY_BACKOFF=exponential") != std::string::npos);
  CHECK(m.find("unknown variable") == std::string::npos);

  const auto low = read({{"PAYPIPE_RETRY_BACKOFF", "exponential"}, {"PAYPIPE_RETRY_MULTIPLIER", "0.5"}});
  REQUIRE_FALSE(low.status.ok());
  CHECK(low.status.error().message.find("PAYPIPE_RETRY_MULTIPLIER: must be between 1 and 10") != std::string::npos);
}

TEST_CASE("deprecated consumer variables: N attempts in all are N - 1 retries, with a warning") {
  // What the chart rendered before: 3 attempts, 1 s x2 up to 8 s. Same behaviour after.
  const auto r = read({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "3"},
                       {"PAYPIPE_RETRY_INITIAL_DELAY_MS", "1000"},
                       {"PAYPIPE_RETRY_MULTIPLIER_PERCENT", "200"},
                       {"PAYPIPE_RETRY_MAX_DELAY_MS", "8000"}});
  REQUIRE(r.status.ok());
  CHECK(r.policy.max_attempts == 3);
  CHECK(r.policy.max_retries() == 2);
  CHECK(r.policy.initial_delay == milliseconds(1000));
  CHECK(r.policy.multiplier == 2.0);
  CHECK(r.policy.max_delay == milliseconds(8000));
  CHECK(mentions(r.warnings,
                 "PAYPIPE_RETRY_MAX_ATTEMPTS: deprecated (it counts attempts in all, the first "
                 "included): 3 is read as PAYPIPE_RETRY_MAX_RETRIES=2"));
  CHECK(mentions(r.warnings, "PAYPIPE_RETRY_INITIAL_DELAY_MS: deprecated: read as PAYPIPE_RETRY_INTERVAL_MS=1000"));
  CHECK(
      mentions(r.warnings, "PAYPIPE_RETRY_MULTIPLIER_PERCENT: deprecated: 200 is read as PAYPIPE_RETRY_MULTIPLIER=2"));
  CHECK(mentions(r.warnings, "PAYPIPE_RETRY_MAX_DELAY_MS: deprecated: read as PAYPIPE_RETRY_MAX_INTERVAL_MS=8000"));
  CHECK(mentions(r.warnings, "the policy read from them: exponential backoff, 2 retries, 1000 ms x2 up to 8000 ms"));

  // 1 attempt in all: no retry.
  const auto once = read({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "1"}});
  REQUIRE(once.status.ok());
  CHECK(once.policy.max_retries() == 0);
  CHECK(once.policy.max_attempts == 1);

  // 100 % was the same wait every time: a fixed backoff; its cap means nothing then.
  const auto flat = read({{"PAYPIPE_RETRY_MULTIPLIER_PERCENT", "100"}, {"PAYPIPE_RETRY_MAX_DELAY_MS", "8000"}});
  REQUIRE(flat.status.ok());
  CHECK(flat.policy.fixed());
  CHECK(mentions(flat.warnings, "PAYPIPE_RETRY_MAX_DELAY_MS: deprecated, and ignored"));
}

TEST_CASE("a deprecated variable and its new name together are an error") {
  const auto r = read({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "3"},
                       {"PAYPIPE_RETRY_MAX_RETRIES", "3"},
                       {"PAYPIPE_RETRY_BACKOFF", "fixed"},
                       {"PAYPIPE_RETRY_MULTIPLIER_PERCENT", "200"}});
  REQUIRE_FALSE(r.status.ok());
  const auto& m = r.status.error().message;
  CHECK(m.find("PAYPIPE_RETRY_MAX_ATTEMPTS: deprecated alias of PAYPIPE_RETRY_MAX_RETRIES: set only "
               "PAYPIPE_RETRY_MAX_RETRIES") != std::string::npos);
  CHECK(m.find("PAYPIPE_RETRY_MULTIPLIER_PERCENT: a growing wait needs PAYPIPE_RETRY_BACKOFF=exponential") !=
        std::string::npos);
}

TEST_CASE("dlq-retrier's re-deliveries read PAYPIPE_RETRIER_* and its own deprecated PAYPIPE_RETRY_* names") {
  const auto five_minutes = events::RetryPolicy::fixed_backoff(std::chrono::minutes(5), 3);
  auto r = read({{"PAYPIPE_RETRIER_MAX_RETRIES", "2"}, {"PAYPIPE_RETRIER_INTERVAL_MS", "60000"}}, five_minutes,
                runtime::redelivery_variables);
  REQUIRE(r.status.ok());
  CHECK(runtime::describe(r.policy) == "fixed backoff, 2 retries 60000 ms apart");

  // The old chart's dlqRetrier block: 3 deliveries in all, 5 min x2 up to 1 h.
  r = read({{"PAYPIPE_RETRY_MAX_ATTEMPTS", "3"},
            {"PAYPIPE_RETRY_DELAY_MS", "300000"},
            {"PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT", "200"},
            {"PAYPIPE_RETRY_MAX_DELAY_MS", "3600000"}},
           five_minutes, runtime::redelivery_variables);
  REQUIRE(r.status.ok());
  CHECK(runtime::describe(r.policy) == "exponential backoff, 2 retries, 300000 ms x2 up to 3600000 ms");
  CHECK(mentions(r.warnings, "3 is read as PAYPIPE_RETRIER_MAX_RETRIES=2"));

  // An old multiplier alone keeps the old cap of an hour, not a consumer's 8 s.
  r = read({{"PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT", "300"}}, five_minutes, runtime::redelivery_variables);
  REQUIRE(r.status.ok());
  CHECK(runtime::describe(r.policy) == "exponential backoff, 3 retries, 300000 ms x3 up to 3600000 ms");
}
