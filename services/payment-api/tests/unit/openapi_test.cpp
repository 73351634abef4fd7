// proto/http/payment-api.yaml against payment-api's real router: every documented route
// is served and every served route is documented.
#include "support/openapi.hpp"

#include <catch2/catch.hpp>

#include "payment_api/http_api.hpp"
#include "support/daemon.hpp"

using namespace paypipe;

TEST_CASE("proto/http/payment-api.yaml documents exactly payment-api's routes") {
  pg::Pool pool(pg::PoolOptions{{}, 1, std::chrono::milliseconds(1)});  // never connects
  payment_api::Config config;
  config.workers = 1;
  auto hub = http::StreamHub::create({}, nullptr, nullptr);  // routes only: never opened
  payment_api::PaymentApi api(config, pool, auth::Authenticator::create({}).value(), hub);
  http::Router router;
  api.add_routes(router);
  const auto served = testing::router_routes(router);
  CHECK(served.count("POST /v1/payments") == 1);
  CHECK(testing::openapi_routes(testing::source_dir() + "/proto/http/payment-api.yaml") == served);
}
