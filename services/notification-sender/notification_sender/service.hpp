#pragma once
// notification-sender as its daemon runs it: main.cpp and the integration tests build it here.

#include <memory>
#include <vector>

#include "core/embedded.hpp"
#include "notification_sender/config.hpp"
#include "runtime/service.hpp"

namespace paypipe::notification_sender {

// Opens the database and the producer (a failure ends the process, as at start-up) and
// wires the parts; `config` must outlive the service.
std::unique_ptr<runtime::Service> build_service(const Config& config, std::vector<core::EmbeddedFile> migrations);

}  // namespace paypipe::notification_sender
