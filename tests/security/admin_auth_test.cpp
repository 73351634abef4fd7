// Every admin endpoint of every daemon refuses a request without the admin token (401)
// and with a wrong one (403), as problem+json, and accepts the right one. The list of
// admin routes is checked against the OpenAPI specs, so a new admin route cannot be
// added without being tested here.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "core/time.hpp"
#include "security_support.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/openapi.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
using testing::security::check_problem;

namespace {

struct AdminRoute {
  testing::Daemon* daemon;
  std::string method;
  std::string route;  // as in the spec
  std::string path;   // as sent
  std::string body;
  // A wrong admin token: 403, except where a service's JWT is also accepted (deposits):
  // there a bearer that is neither is an invalid token, 401 (RFC 6750).
  int wrong_token_status = 403;
};

// The routes of `spec` that declare the adminToken security scheme (per operation, or
// for the whole document).
std::set<std::string> admin_routes_in(const std::string& spec) {
  // openapi_routes gives every route; the admin ones are those whose operation (or the
  // document) names adminToken. The specs are small: read them as text.
  std::ifstream in(testing::source_dir() + "/proto/http/" + spec);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::set<std::string> admin;
  const bool global = text.find("\nsecurity:\n  - adminToken") != std::string::npos;
  std::string path, method;
  const auto routes = testing::openapi_routes(testing::source_dir() + "/proto/http/" + spec);
  std::istringstream lines(text);
  std::string line;
  bool in_paths = false;
  while (std::getline(lines, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    if (line.size() > 2 && line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.size() > 4 && line.rfind("    ", 0) == 0 && line[4] != ' ' && line.back() == ':') {
      method = line.substr(4, line.size() - 5);
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (global) admin.insert(method + " " + path);
    } else if (line.find("- adminToken") != std::string::npos && !method.empty()) {
      admin.insert(method + " " + path);
    }
  }
  for (const auto& r : admin) REQUIRE(routes.count(r) == 1);
  return admin;
}

}  // namespace

TEST_CASE("every admin endpoint refuses a missing token with 401 and a wrong one with 403, as problem+json") {
  const std::string token = testing::security::secret("adm-");
  testing::System system;
  const std::map<std::string, std::string> env{{"PAYPIPE_ADMIN_TOKEN", token}};
  testing::Daemon orders(system, "order-processor", env);
  testing::Daemon coupons(system, "coupon-issuer", env);
  testing::Daemon retrier(system, "dlq-retrier", env);
  testing::Daemon payments(system, "payment-api", env);
  payments.wait_ready();
  orders.wait_ready();
  coupons.wait_ready();
  retrier.wait_ready();

  const auto now = core::now_ms();
  const std::string order_id = core::new_uuid_v7();
  const std::vector<AdminRoute> routes{
      {&orders, "POST", "/v1/products", "/v1/products",
       R"({"productId":"adm-p1","name":"P","unitPrice":100,"totalStock":5,"saleOpensAt":")" +
           core::format_rfc3339(now - 1h) + "\"}"},
      {&orders, "POST", "/v1/orders/{orderId}/fulfilment", "/v1/orders/" + order_id + "/fulfilment",
       R"({"status":"SHIPMENT_STARTED"})"},
      {&orders, "POST", "/v1/admin/expiry-sweeps", "/v1/admin/expiry-sweeps", ""},
      {&orders, "POST", "/v1/admin/orders/{orderId}/refund", "/v1/admin/orders/" + order_id + "/refund", ""},
      {&coupons, "POST", "/v1/coupons", "/v1/coupons",
       R"({"name":"C","discount":100,"totalStock":5,"validFrom":")" + core::format_rfc3339(now - 1h) +
           R"(","validUntil":")" + core::format_rfc3339(now + 1h) + "\"}"},
      {&retrier, "GET", "/v1/parked", "/v1/parked", ""},
      {&retrier, "GET", "/v1/parked/{id}", "/v1/parked/1", ""},
      {&retrier, "POST", "/v1/parked/{id}/replay", "/v1/parked/1/replay", ""},
      {&retrier, "POST", "/v1/parked/replay", "/v1/parked/replay?group=payment-api", ""},
      {&retrier, "DELETE", "/v1/parked/{id}", "/v1/parked/1", ""},
      {&retrier, "GET", "/v1/dead-letters", "/v1/dead-letters", ""},
      {&retrier, "GET", "/v1/dead-letters/{group}", "/v1/dead-letters/payment-api", ""},
      {&retrier, "POST", "/v1/dead-letters/{group}/retry", "/v1/dead-letters/payment-api/retry", ""},
      {&retrier, "POST", "/v1/dead-letters/{group}/{partition}/{offset}/retry",
       "/v1/dead-letters/payment-api/0/0/retry", ""},
      {&retrier, "POST", "/v1/dead-letters/{group}/{partition}/{offset}/skip", "/v1/dead-letters/payment-api/0/0/skip",
       R"({"reason":"adm"})"},
      {&payments, "POST", "/v1/wallets/{userId}/deposits", "/v1/wallets/adm-u/deposits", R"({"amount":1})", 401},
      // common.yaml: every daemon's (libs/runtime), tried on each of these four.
      {&orders, "PUT", "/v1/admin/log-level", "/v1/admin/log-level", R"({"level":"info"})"},
      {&coupons, "PUT", "/v1/admin/log-level", "/v1/admin/log-level", R"({"level":"info"})"},
      {&retrier, "PUT", "/v1/admin/log-level", "/v1/admin/log-level", R"({"level":"info"})"},
      {&payments, "PUT", "/v1/admin/log-level", "/v1/admin/log-level", R"({"level":"info"})"},
  };

  // The list above is every admin route the specs declare.
  std::set<std::string> declared;
  for (const auto* spec :
       {"order-processor.yaml", "coupon-issuer.yaml", "dlq-retrier.yaml", "payment-api.yaml",
        "notification-sender.yaml", "ranking-updater.yaml", "data-platform-forwarder.yaml", "common.yaml"}) {
    for (const auto& r : admin_routes_in(spec)) declared.insert(std::string(spec) + " " + r);
  }
  std::set<std::string> tested;
  for (const auto& r : routes) {
    const std::string spec = r.route == "/v1/admin/log-level" ? "common.yaml"
                             : r.daemon == &orders            ? "order-processor.yaml"
                             : r.daemon == &coupons           ? "coupon-issuer.yaml"
                             : r.daemon == &payments          ? "payment-api.yaml"
                                                              : "dlq-retrier.yaml";
    tested.insert(spec + " " + r.method + " " + r.route);
  }
  CHECK(tested == declared);

  const std::vector<std::pair<std::string, std::vector<http::Header>>> unauthenticated{
      {"no header", {}},
      {"empty bearer", {{"Authorization", "Bearer "}}},
      {"another scheme", {{"Authorization", "Basic " + token}}},
      {"the token without a scheme", {{"Authorization", token}}},
  };
  const std::vector<std::pair<std::string, std::vector<http::Header>>> forbidden{
      {"a wrong token", {{"Authorization", "Bearer wrong-token"}}},
      {"the token plus one character", {{"Authorization", "Bearer " + token + "x"}}},
      {"the token less its last character", {{"Authorization", "Bearer " + token.substr(0, token.size() - 1)}}},
      {"the token in another case", {{"Authorization", "Bearer " + std::string("ADM-") + token.substr(4)}}},
  };
  for (const auto& route : routes) {
    for (const auto& [what, headers] : unauthenticated) {
      INFO(route.method << " " << route.path << " with " << what);
      auto h = headers;
      if (!route.body.empty()) h.push_back({"Content-Type", "application/json"});
      auto r = route.daemon->request(route.method, route.path, route.body, h);
      check_problem(r, 401);
      CHECK(r->body.find(token) == std::string::npos);
    }
    for (const auto& [what, headers] : forbidden) {
      INFO(route.method << " " << route.path << " with " << what);
      auto h = headers;
      if (!route.body.empty()) h.push_back({"Content-Type", "application/json"});
      auto r = route.daemon->request(route.method, route.path, route.body, h);
      check_problem(r, route.wrong_token_status);
      CHECK(r->body.find(token) == std::string::npos);
    }
    // The right token passes the gate (whatever the handler then says).
    INFO(route.method << " " << route.path << " with the right token");
    std::vector<http::Header> h{{"Authorization", "Bearer " + token}};
    if (!route.body.empty()) h.push_back({"Content-Type", "application/json"});
    auto r = route.daemon->request(route.method, route.path, route.body, h);
    REQUIRE(r.ok());
    INFO(r->body);
    CHECK(r->status != 401);
    CHECK(r->status != 403);
    CHECK(r->status < 500);
  }
  // The refused requests changed nothing: the product exists once, created by the
  // authorised request only.
  auto product = orders.get("/v1/products/adm-p1", {testing::bearer("reader")});
  REQUIRE(product.ok());
  CHECK(product->status == 200);
}

TEST_CASE("a daemon without an admin token refuses every admin request, even one with an empty bearer") {
  testing::System system;
  testing::Daemon retrier(system, "dlq-retrier");
  retrier.wait_ready();
  check_problem(retrier.get("/v1/parked", {{"Authorization", "Bearer x"}}), 403);
  check_problem(retrier.get("/v1/parked"), 401);
}
