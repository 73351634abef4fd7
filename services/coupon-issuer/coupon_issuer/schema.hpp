#pragma once
// coupon-issuer's migrations (migrations/*.sql), compiled in by cmake/service.cmake.
#include <span>

#include "core/embedded.hpp"

namespace paypipe::coupon_issuer::schema {
std::span<const core::EmbeddedFile> embedded_files();
}
