#pragma once
// The SQL every service's schema needs from libs/events: the outbox and the
// processed-events table (libs/events/migrations/, compiled in).

#include <span>

#include "core/embedded.hpp"

namespace paypipe::events::migrations {
std::span<const core::EmbeddedFile> embedded_files();
}  // namespace paypipe::events::migrations
