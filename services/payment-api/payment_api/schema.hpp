#pragma once
// payment-api's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::payment_api::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
