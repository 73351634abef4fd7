#pragma once
// payment-api as its daemon runs it: main.cpp and the integration tests build it here.

#include <memory>
#include <vector>

#include "core/embedded.hpp"
#include "payment_api/config.hpp"
#include "runtime/service.hpp"

namespace paypipe::payment_api {

// Opens the database and the producer (a failure ends the process, as at start-up) and
// wires the parts; `config` must outlive the service.
std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations);

}  // namespace paypipe::payment_api
