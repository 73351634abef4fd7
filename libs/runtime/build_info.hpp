#pragma once
// What was built: the project's version (CMake's project(VERSION)) and the git commit
// of the checkout at configure time ("unknown" when it was no git checkout, as in a
// source tarball; -DPAYPIPE_GIT_COMMIT=... sets it, as an image build would).

#include <string_view>

namespace paypipe::runtime {

struct BuildInfo {
  std::string_view version;
  std::string_view commit;
};

const BuildInfo& build_info();

// Registers paypipe_build_info{version,commit} = 1 on the process' registry (once; later
// calls do nothing), the usual way to tell which build a scraped pod runs.
void register_build_info();

}  // namespace paypipe::runtime
