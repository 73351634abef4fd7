#pragma once
// What a handler says about one event. Closed: success, infrastructure failure,
// retryable failure or fatal failure. Which one a failure is is a property of the
// error (its category), decided in one place: outcome_for() (core::is_infrastructure,
// core::is_retryable).
//
// The consumer runtime turns outcomes into actions: success stores the offset;
// infrastructure (the database or the broker unavailable: nothing wrong with the
// record) is retried in place, in order, with capped backoff, for as long as it lasts,
// and never dead-lettered; retryable (an outside service failed) gets the service's
// in-process retries, then goes to dlq.<group>; fatal goes to dlq.<group> at once.
// dlq-retrier takes it from there.

#include <chrono>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace paypipe::events {

struct Outcome {
  enum class Kind { success, retryable, fatal, infrastructure };

  Kind kind = Kind::success;
  // Our error class, written to kafka_dlt-exception-fqcn, e.g.
  // "paypipe.events.SchemaViolation" or "paypipe.notification.TelegramUnavailable".
  std::string error_class;
  std::string message;
  // A downstream's own hint (HTTP 429 Retry-After): wait at least this long.
  std::optional<std::chrono::milliseconds> retry_after;

  static Outcome ok() { return {}; }
  static Outcome retry(std::string error_class, std::string message,
                       std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    return Outcome{Kind::retryable, std::move(error_class), std::move(message), retry_after};
  }
  static Outcome fail(std::string error_class, std::string message) {
    return Outcome{Kind::fatal, std::move(error_class), std::move(message), std::nullopt};
  }
  // The infrastructure failed (see core::is_infrastructure): retried in place, never
  // dead-lettered. Usually made by outcome_for from an `unavailable` error.
  static Outcome infrastructure_failure(std::string error_class, std::string message) {
    return Outcome{Kind::infrastructure, std::move(error_class), std::move(message), std::nullopt};
  }

  bool succeeded() const { return kind == Kind::success; }
};

// The one mapping from an Error to an Outcome: infrastructure categories (unavailable)
// wait in place; the other retryable ones (too_many_requests, internal) retry, then
// dead-letter; the rest would fail the same way again and go straight to the
// dead-letter path. error_class is "paypipe.<component>.<code>".
Outcome outcome_for(const core::Error& error, std::string_view component);

const char* to_string(Outcome::Kind kind);

}  // namespace paypipe::events
