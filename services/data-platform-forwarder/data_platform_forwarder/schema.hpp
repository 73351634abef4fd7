#pragma once
// data-platform-forwarder's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::data_platform_forwarder::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
