#pragma once
// order-processor's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::order_processor::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
