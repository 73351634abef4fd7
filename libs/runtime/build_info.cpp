#include "runtime/build_info.hpp"

#include "core/metrics.hpp"

#include <prometheus/gauge.h>

#include <string>

// Set on this file only (libs/runtime/CMakeLists.txt), so a new commit recompiles one
// translation unit.
#ifndef PAYPIPE_VERSION
#error "PAYPIPE_VERSION is not defined"
#endif
#ifndef PAYPIPE_GIT_COMMIT
#error "PAYPIPE_GIT_COMMIT is not defined"
#endif

namespace paypipe::runtime {

const BuildInfo& build_info() {
  static const BuildInfo info{PAYPIPE_VERSION, PAYPIPE_GIT_COMMIT};
  return info;
}

void register_build_info() {
  static const bool registered = [] {
    const auto& info = build_info();
    prometheus::BuildGauge()
        .Name("paypipe_build_info")
        .Help("Always 1: the version and git commit of the running build")
        .Register(core::metrics::registry())
        .Add({{"version", std::string(info.version)}, {"commit", std::string(info.commit)}})
        .Set(1);
    return true;
  }();
  (void)registered;
}

}  // namespace paypipe::runtime
