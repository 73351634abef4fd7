#include "core/error.hpp"

namespace paypipe::core {

const char* to_string(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::invalid_input: return "invalid_input";
    case ErrorCategory::unauthenticated: return "unauthenticated";
    case ErrorCategory::forbidden: return "forbidden";
    case ErrorCategory::not_found: return "not_found";
    case ErrorCategory::conflict: return "conflict";
    case ErrorCategory::payment_required: return "payment_required";
    case ErrorCategory::unprocessable: return "unprocessable";
    case ErrorCategory::too_many_requests: return "too_many_requests";
    case ErrorCategory::unavailable: return "unavailable";
    case ErrorCategory::internal: return "internal";
  }
  return "internal";
}

}  // namespace paypipe::core
