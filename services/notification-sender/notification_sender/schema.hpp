#pragma once
// notification-sender's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::notification_sender::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
