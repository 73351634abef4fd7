#include "events/outcome.hpp"

#include <cctype>

namespace paypipe::events {

namespace {

// "insufficient-funds" -> "InsufficientFunds": reads like the exception class names
// Spring tools show in kafka_dlt-exception-fqcn.
std::string class_name(std::string_view code) {
  std::string out;
  bool upper = true;
  for (const char c : code) {
    if (c == '-' || c == '_' || c == ':' || c == '.') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return out.empty() ? "Error" : out;
}

}  // namespace

Outcome outcome_for(const core::Error& error, std::string_view component) {
  auto error_class = "paypipe." + std::string(component) + "." + class_name(error.code);
  if (error.infrastructure()) return Outcome::infrastructure_failure(std::move(error_class), error.message);
  if (error.retryable()) return Outcome::retry(std::move(error_class), error.message);
  return Outcome::fail(std::move(error_class), error.message);
}

const char* to_string(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::success: return "success";
    case Outcome::Kind::retryable: return "retryable";
    case Outcome::Kind::fatal: return "fatal";
    case Outcome::Kind::infrastructure: return "infrastructure";
  }
  return "fatal";
}

}  // namespace paypipe::events
