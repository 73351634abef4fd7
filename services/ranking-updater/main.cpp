// ranking-updater: serves /healthz, /readyz and /metrics; its work is not built yet.
#include "runtime/daemon.hpp"
#include "src/schema.hpp"

int main(int argc, char** argv) {
  return paypipe::runtime::serve_health_only(argc, argv, "ranking-updater", paypipe::ranking_updater::schema::embedded_files());
}
