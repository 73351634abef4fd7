#pragma once
// dlq-retrier's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::dlq_retrier::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
