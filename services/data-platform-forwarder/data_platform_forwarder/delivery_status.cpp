#include "data_platform_forwarder/delivery_status.hpp"

namespace paypipe::data_platform_forwarder {

const char* to_string(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::published: return "PUBLISHED";
    case DeliveryStatus::in_progress: return "IN_PROGRESS";
    case DeliveryStatus::completed: return "COMPLETED";
    case DeliveryStatus::failed: return "FAILED";
    case DeliveryStatus::dead_letter: return "DEAD_LETTER";
  }
  return "FAILED";
}

std::optional<DeliveryStatus> parse_status(std::string_view text) {
  for (const auto s : {DeliveryStatus::published, DeliveryStatus::in_progress, DeliveryStatus::completed,
                       DeliveryStatus::failed, DeliveryStatus::dead_letter}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

DeliveryStatus status_after(const events::Outcome& outcome, bool last_try) {
  switch (outcome.kind) {
    case events::Outcome::Kind::success: return DeliveryStatus::completed;
    case events::Outcome::Kind::fatal: return DeliveryStatus::dead_letter;
    case events::Outcome::Kind::retryable: return last_try ? DeliveryStatus::dead_letter : DeliveryStatus::failed;
    // The runtime retries it in place (never a dead letter), whatever try this was.
    case events::Outcome::Kind::infrastructure: return DeliveryStatus::failed;
  }
  return DeliveryStatus::failed;
}

}  // namespace paypipe::data_platform_forwarder
