// proto/http/coupon-issuer.yaml and the router describe the same routes.
#include <catch2/catch.hpp>

#include "coupon_issuer/http_api.hpp"
#include "support/daemon.hpp"
#include "support/openapi.hpp"

using namespace paypipe;

TEST_CASE("the OpenAPI spec lists exactly the routes coupon-issuer serves") {
  coupon_issuer::Config config;
  config.common.kafka.bootstrap_servers = "127.0.0.1:1";  // never used: no request is made
  pg::Pool pool(pg::PoolOptions{});                        // connects lazily: never here
  auto producer = coupon_issuer::open_request_producer(config);
  REQUIRE(producer.ok());
  auto hub = http::StreamHub::create({}, nullptr, nullptr);  // routes only: never opened
  coupon_issuer::CouponApi api(config, pool, std::move(producer).value(), auth::Authenticator::create({}).value(), hub);
  http::Router router;
  api.add_routes(router);
  const auto spec = testing::openapi_routes(testing::source_dir() + "/proto/http/coupon-issuer.yaml");
  CHECK(spec == testing::router_routes(router));
  CHECK(spec.count("POST /v1/coupons/{couponId}/issue") == 1);
}
