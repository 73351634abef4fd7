#include "runtime/retry_config.hpp"

namespace paypipe::runtime {

using std::chrono::milliseconds;

namespace {

std::string variable(std::string_view prefix, std::string_view suffix) {
  return std::string(prefix) + std::string(suffix);
}

// True if the deprecated `alias` is set and `current` is not; both set is an error.
bool use_alias(core::Env& env, std::string_view alias, const std::string& current) {
  if (!env.has(alias)) return false;
  if (!env.has(current)) return true;
  (void)env.text(alias, "");  // read: reported as a conflict, not as unknown
  env.fail(alias, "deprecated alias of " + current + ": set only " + current);
  return false;
}

// Read, and named in an error if set: an exponential-only setting under a fixed backoff.
void refuse_with_fixed(core::Env& env, const std::string& name, const std::string& backoff) {
  if (!env.has(name)) return;
  (void)env.text(name, "");
  env.fail(name, "only with " + backoff + "=exponential (a fixed backoff waits the same interval every time)");
}

}  // namespace

events::RetryPolicy read_retry_policy(core::Env& env, const RetryVariables& v, const events::RetryPolicy& defaults) {
  const auto backoff_name = variable(v.prefix, "BACKOFF");
  const auto retries_name = variable(v.prefix, "MAX_RETRIES");
  const auto interval_name = variable(v.prefix, "INTERVAL_MS");
  const auto multiplier_name = variable(v.prefix, "MULTIPLIER");
  const auto max_interval_name = variable(v.prefix, "MAX_INTERVAL_MS");
  bool deprecated = false;

  int retries = defaults.max_retries();
  if (use_alias(env, v.old_max_attempts, retries_name)) {
    const auto attempts = static_cast<int>(env.integer(v.old_max_attempts, retries + 1, 1, 100));
    retries = attempts - 1;
    env.warn(v.old_max_attempts,
             "deprecated (it counts attempts in all, the first included): " + std::to_string(attempts) +
                 " is read as " + retries_name + "=" + std::to_string(retries) + ", retries after the first attempt");
    deprecated = true;
  } else {
    retries = static_cast<int>(env.integer(retries_name, retries, 0, 100));
  }

  auto interval = defaults.initial_delay;
  if (use_alias(env, v.old_initial_delay, interval_name)) {
    interval = env.millis(v.old_initial_delay, interval, milliseconds(0), v.longest_interval);
    env.warn(v.old_initial_delay, "deprecated: read as " + interval_name + "=" + std::to_string(interval.count()));
    deprecated = true;
  } else {
    interval = env.millis(interval_name, interval, milliseconds(0), v.longest_interval);
  }

  // An old multiplier above 100 % meant a growing wait: exponential unless told otherwise.
  const bool old_multiplier = use_alias(env, v.old_multiplier_percent, multiplier_name);
  const auto percent = old_multiplier ? env.integer(v.old_multiplier_percent, 100, 100, 1000) : 100;
  const bool exponential_by_default = !defaults.fixed() || percent > 100;
  const bool exponential = env.choice(backoff_name, exponential_by_default ? "exponential" : "fixed",
                                      {"fixed", "exponential"}) == "exponential";

  events::RetryPolicy policy;
  if (!exponential) {
    refuse_with_fixed(env, multiplier_name, backoff_name);
    refuse_with_fixed(env, max_interval_name, backoff_name);
    if (percent > 100) {
      env.fail(v.old_multiplier_percent, "a growing wait needs " + backoff_name + "=exponential");
    } else if (old_multiplier) {
      env.warn(v.old_multiplier_percent, "deprecated: 100 is read as " + backoff_name + "=fixed");
      deprecated = true;
    }
    if (use_alias(env, v.old_max_delay, max_interval_name)) {
      (void)env.text(v.old_max_delay, "");
      env.warn(v.old_max_delay, "deprecated, and ignored: a fixed backoff waits " + interval_name + " every time");
      deprecated = true;
    }
    policy = events::RetryPolicy::fixed_backoff(interval, retries);
  } else {
    double multiplier = defaults.fixed() ? v.exponential_multiplier : defaults.multiplier;
    if (old_multiplier) {
      multiplier = static_cast<double>(percent) / 100.0;
      env.warn(v.old_multiplier_percent, "deprecated: " + std::to_string(percent) + " is read as " + multiplier_name +
                                             "=" + core::format_decimal(multiplier));
      deprecated = true;
    } else {
      multiplier = env.decimal(multiplier_name, multiplier, 1.0, 10.0);
    }
    auto max_interval = defaults.fixed() ? v.exponential_max_interval : defaults.max_delay;
    if (use_alias(env, v.old_max_delay, max_interval_name)) {
      max_interval = env.millis(v.old_max_delay, max_interval, milliseconds(0), v.longest_max_interval);
      env.warn(v.old_max_delay,
               "deprecated: read as " + max_interval_name + "=" + std::to_string(max_interval.count()));
      deprecated = true;
    } else {
      max_interval = env.millis(max_interval_name, max_interval, milliseconds(0), v.longest_max_interval);
    }
    policy = events::RetryPolicy::exponential_backoff(retries, interval, multiplier, max_interval);
  }
  if (deprecated) {
    env.warn(variable(v.prefix, "*"), "deprecated variables in use; the policy read from them: " + describe(policy));
  }
  return policy;
}

std::string describe(const events::RetryPolicy& policy) {
  const auto retries = policy.max_retries();
  const auto count = retries < 0 ? std::string("unlimited retries")
                                 : std::to_string(retries) + (retries == 1 ? " retry" : " retries");
  if (policy.fixed()) {
    return "fixed backoff, " + count + " " + std::to_string(policy.initial_delay.count()) + " ms apart";
  }
  return "exponential backoff, " + count + ", " + std::to_string(policy.initial_delay.count()) + " ms x" +
         core::format_decimal(policy.multiplier) + " up to " + std::to_string(policy.max_delay.count()) + " ms";
}

}  // namespace paypipe::runtime
