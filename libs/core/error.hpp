#pragma once
// The one error type of the project. Every library reports failures as an Error (or a
// Result<T> holding one); no exception crosses a library boundary unconverted.
// What a caller does with an error depends only on its category, mapped in two places:
// http::problem_for (HTTP status + problem+json) and events::outcome_for (retry in
// place, retry then dead letter, or dead letter).

#include <string>
#include <utility>
#include <variant>

namespace paypipe::core {

enum class ErrorCategory {
  invalid_input,     // the request or record itself is wrong: never retried
  unauthenticated,   // missing credentials
  forbidden,         // credentials do not allow this
  not_found,
  conflict,          // the state does not allow it now (e.g. order no longer payable)
  payment_required,  // insufficient funds
  unprocessable,     // well-formed but semantically refused (e.g. idempotency key reused)
  too_many_requests,
  unavailable,       // a dependency is down or slow: retry later
  internal,          // a bug or an unexpected state
};

const char* to_string(ErrorCategory category);

// Transient errors are worth retrying; the rest would fail the same way again.
constexpr bool is_retryable(ErrorCategory category) {
  return category == ErrorCategory::unavailable || category == ErrorCategory::too_many_requests ||
         category == ErrorCategory::internal;
}

// Errors of the infrastructure (PostgreSQL or Kafka unavailable, a connection lost, a
// serialization failure 40001 or deadlock 40P01: libs/pg maps them all to
// `unavailable`) say nothing about the record being processed: a consumer waits them
// out in place and never dead-letters for them. The one place that decides it.
// An outside service's failure (Telegram, a webhook) is built as a retryable Outcome
// directly, not from this category, so it still ends in the dead-letter path.
constexpr bool is_infrastructure(ErrorCategory category) { return category == ErrorCategory::unavailable; }

struct Error {
  ErrorCategory category = ErrorCategory::internal;
  std::string code;     // stable machine-readable reason, e.g. "insufficient-funds"
  std::string message;  // for humans; never contains secrets

  bool retryable() const { return is_retryable(category); }
  bool infrastructure() const { return is_infrastructure(category); }
};

inline Error make_error(ErrorCategory category, std::string code, std::string message) {
  return Error{category, std::move(code), std::move(message)};
}

// A value or an Error. A small stand-in for std::expected, which C++20 lacks.
template <typename T>
class [[nodiscard]] Result {
 public:
  // Empty results hold an internal error; Asio's co_spawn needs this constructor.
  Result() : state_(Error{ErrorCategory::internal, "empty-result", "no value was produced"}) {}
  Result(T value) : state_(std::move(value)) {}             // implicit, as std::expected's: `return value;`
  Result(Error error) : state_(std::move(error)) {}         // and `return error;` build a Result

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }
  Error&& take_error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}  // implicit: `return error;`

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace paypipe::core
