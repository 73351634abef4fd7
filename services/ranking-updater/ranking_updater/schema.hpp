#pragma once
// ranking-updater's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::ranking_updater::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
