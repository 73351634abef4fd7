// proto/http/ranking-updater.yaml and the router describe the same routes.
#include <catch2/catch.hpp>

#include "ranking_updater/http_api.hpp"
#include "support/daemon.hpp"
#include "support/openapi.hpp"

using namespace paypipe;

TEST_CASE("the OpenAPI spec lists exactly the routes ranking-updater serves") {
  pg::Pool pool(pg::PoolOptions{});  // connects lazily: never here
  ranking_updater::RankingApi api(pool, "Asia/Seoul");
  http::Router router;
  api.add_routes(router);
  const auto spec = testing::openapi_routes(testing::source_dir() + "/proto/http/ranking-updater.yaml");
  CHECK(spec == testing::router_routes(router));
  CHECK(spec.count("GET /v1/rankings/sold-out") == 1);
}
