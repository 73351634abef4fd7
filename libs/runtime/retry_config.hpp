#pragma once
// Retry settings named and counted as Spring Kafka's, read from the environment. Two
// sets share the one reader: a consumer's in-process retries (PAYPIPE_RETRY_*, Spring's
// DefaultErrorHandler and its BackOff) and dlq-retrier's scheduled re-deliveries
// (PAYPIPE_RETRIER_*, the seeds' processFailedMessages() every 5 minutes). Each reads
//
//   <prefix>BACKOFF          fixed | exponential: FixedBackOff | ExponentialBackOffWithMaxRetries
//   <prefix>MAX_RETRIES      retries after the first attempt (0: none). FixedBackOff's
//                            maxAttempts, ExponentialBackOffWithMaxRetries' maxRetries
//   <prefix>INTERVAL_MS      FixedBackOff's interval; ExponentialBackOff's initialInterval
//   <prefix>MULTIPLIER       exponential only, a decimal such as 2.0
//   <prefix>MAX_INTERVAL_MS  exponential only: the longest wait
//
// The older variables counted attempts in all, the first included. They are still read,
// as deprecated aliases converted to the new meaning (N attempts in all = N - 1 retries;
// a multiplier percent P = multiplier P/100, exponential when P > 100), each with a
// warning the daemon logs at start, so a deployment upgraded without changing its
// settings keeps its behaviour and hears about it. Setting an alias and its new name
// together is an error.
//
// Which errors are not retried is not configured here: an outcome's kind decides it
// (events/outcome.hpp; docs/operations.md, "Retries, in Spring's terms").

#include <chrono>
#include <string>
#include <string_view>

#include "core/env.hpp"
#include "events/retry.hpp"

namespace paypipe::runtime {

struct RetryVariables {
  std::string_view prefix;  // "PAYPIPE_RETRY_"
  std::chrono::milliseconds longest_interval;      // upper bound of INTERVAL_MS
  std::chrono::milliseconds longest_max_interval;  // upper bound of MAX_INTERVAL_MS
  // Used when EXPONENTIAL is chosen over a fixed default, for what is not set.
  double exponential_multiplier = 2.0;
  std::chrono::milliseconds exponential_max_interval{8000};
  // The deprecated aliases (attempts in all; percent).
  std::string_view old_max_attempts;
  std::string_view old_initial_delay;
  std::string_view old_multiplier_percent;
  std::string_view old_max_delay;
};

// A consumer's in-process retries.
inline constexpr RetryVariables consumer_retry_variables{"PAYPIPE_RETRY_",
                                                         std::chrono::milliseconds(600000),
                                                         std::chrono::milliseconds(3600000),
                                                         2.0,
                                                         std::chrono::milliseconds(8000),
                                                         "PAYPIPE_RETRY_MAX_ATTEMPTS",
                                                         "PAYPIPE_RETRY_INITIAL_DELAY_MS",
                                                         "PAYPIPE_RETRY_MULTIPLIER_PERCENT",
                                                         "PAYPIPE_RETRY_MAX_DELAY_MS"};

// dlq-retrier's re-deliveries through retry.<group>.
inline constexpr RetryVariables redelivery_variables{"PAYPIPE_RETRIER_",
                                                     std::chrono::milliseconds(86400000),
                                                     std::chrono::milliseconds(86400000),
                                                     2.0,
                                                     std::chrono::milliseconds(3600000),
                                                     "PAYPIPE_RETRY_MAX_ATTEMPTS",
                                                     "PAYPIPE_RETRY_DELAY_MS",
                                                     "PAYPIPE_RETRY_DELAY_MULTIPLIER_PERCENT",
                                                     "PAYPIPE_RETRY_MAX_DELAY_MS"};

// The policy from the environment, `defaults` for what is not set (their multiplier
// decides the default backoff: 1 is fixed). Errors and warnings go to `env`.
events::RetryPolicy read_retry_policy(core::Env& env, const RetryVariables& variables,
                                      const events::RetryPolicy& defaults);

// "fixed backoff, 3 retries 1000 ms apart" / "exponential backoff, 4 retries, 1000 ms x2 up to 8000 ms".
std::string describe(const events::RetryPolicy& policy);

}  // namespace paypipe::runtime
