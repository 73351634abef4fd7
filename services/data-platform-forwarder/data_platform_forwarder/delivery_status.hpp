#pragma once
// The delivery log's states and the one rule that moves between them after a try.
//
//   (new) --seen--> PUBLISHED --try starts--> IN_PROGRESS --2xx--> COMPLETED
//                                              |--retryable, tries left--> FAILED --next try--> IN_PROGRESS
//                                              '--fatal, or the last try--> DEAD_LETTER
//   DEAD_LETTER --retry.<group> delivers it again--> IN_PROGRESS --> ...
//   COMPLETED is final: a redelivered event is not sent again.

#include <optional>
#include <string_view>

#include "events/outcome.hpp"

namespace paypipe::data_platform_forwarder {

enum class DeliveryStatus { published, in_progress, completed, failed, dead_letter };

const char* to_string(DeliveryStatus status);
std::optional<DeliveryStatus> parse_status(std::string_view text);

// The state after a try ended with `outcome`; `last_try` as the consumer runtime says
// (a retryable failure on the last in-process try goes to the dead-letter topic).
DeliveryStatus status_after(const events::Outcome& outcome, bool last_try);

}  // namespace paypipe::data_platform_forwarder
