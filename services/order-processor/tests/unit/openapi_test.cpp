// proto/http/order-processor.yaml and common.yaml against the routers the daemon
// really builds: every documented route is served and every served route is documented.
#include "support/openapi.hpp"

#include <catch2/catch.hpp>

#include "order_processor/expiry_sweeper.hpp"
#include "order_processor/http_api.hpp"
#include "runtime/daemon.hpp"
#include "runtime/service.hpp"
#include "support/daemon.hpp"

using namespace paypipe;

namespace {

std::string spec(const std::string& name) { return testing::source_dir() + "/proto/http/" + name; }

// A pool that never connects: building the routes opens no connection.
pg::Pool idle_pool() { return pg::Pool(pg::PoolOptions{{}, 1, std::chrono::milliseconds(1)}); }

}  // namespace

TEST_CASE("proto/http/order-processor.yaml documents exactly order-processor's routes") {
  auto pool = idle_pool();
  order_processor::Config config;
  order_processor::ExpirySweeper sweeper(pool, config.expiry);
  auto hub = http::StreamHub::create({}, nullptr, nullptr);  // routes only: never opened
  order_processor::OrderApi api(config, pool, sweeper, auth::Authenticator::create({}).value(), hub);
  http::Router router;
  api.add_routes(router);
  const auto served = testing::router_routes(router);
  CHECK(served.count("POST /v1/orders") == 1);
  CHECK(testing::openapi_routes(spec("order-processor.yaml")) == served);
}

TEST_CASE("proto/http/common.yaml documents the health and admin routes every daemon serves") {
  runtime::Readiness readiness;
  http::Router router;
  runtime::add_health_routes(router, readiness);
  runtime::add_admin_routes(router, "");
  std::set<std::string> served;
  for (const auto& route : router.routes()) served.insert(route.method + " " + route.pattern);
  CHECK(served.size() == 4);
  CHECK(testing::openapi_routes(spec("common.yaml")) == served);
}
