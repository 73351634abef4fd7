// Identity at the doors (issue 13): every end-user route of payment-api, order-processor
// and coupon-issuer, called with every kind of bad credential, answers 401 (or, for
// another user's token, 404 / 403) as problem+json and writes nothing, which the
// database confirms; deposits refuse end-user tokens; keys rotate through the JWKS file
// without a restart; writes past a user's budget are answered 429 with Retry-After.
// The daemons are processes, the tokens real JWTs from tests/support/identity.hpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "auth/jwt.hpp"
#include "auth/sign.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "security_support.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
using namespace paypipe::testing::security;
using testing::Identity;

namespace {

const std::string admin_token = secret("adm-");
const std::string json = "application/json";

std::string field(const std::string& body, const char* name) {
  auto doc = json_of(body);
  REQUIRE(doc.HasMember(name));
  return doc[name].GetString();
}

struct BadToken {
  std::string name;
  std::optional<std::string> authorization;  // nullopt: no header at all
};

// Every way a credential for `victim` can be wrong, signed by the tests' own keys where
// a signature is involved, so only the named flaw is wrong.
std::vector<BadToken> bad_tokens(const std::string& victim) {
  const auto& id = Identity::shared();
  const auto now = testing::unix_now();
  std::vector<BadToken> out;
  out.push_back({"no token", std::nullopt});
  out.push_back({"not a bearer token", "Basic " + auth::base64url_encode(victim + ":pw")});
  out.push_back({"malformed", "Bearer not.a.jwt"});
  out.push_back({"empty bearer", "Bearer "});
  std::string forged = id.token(victim);
  // Change the payload to another user, keep the signature: it no longer verifies.
  const auto dot = forged.find('.'), last = forged.rfind('.');
  auto spec = id.spec(victim);
  forged = forged.substr(0, dot + 1) + auth::base64url_encode(auth::claims_json(spec) + " ") + forged.substr(last);
  out.push_back({"bad signature", "Bearer " + forged});
  const auto stranger = auth::SigningKey::generate(auth::Algorithm::rs256, "test-rsa").value();
  out.push_back({"signed by an unknown key under a known kid", "Bearer " + Identity::token_with(stranger, spec)});
  auto expired = id.spec(victim);
  expired.issued_at = now - 7200;
  expired.expires_at = now - 3600;
  out.push_back({"expired", "Bearer " + Identity::token_with(id.rsa(), expired)});
  auto early = id.spec(victim);
  early.not_before = now + 3600;
  out.push_back({"not yet valid", "Bearer " + Identity::token_with(id.ec(), early)});
  auto audience = id.spec(victim);
  audience.audience = "another-api";
  out.push_back({"wrong audience", "Bearer " + Identity::token_with(id.rsa(), audience)});
  auto issuer = id.spec(victim);
  issuer.issuer = "https://evil.example";
  out.push_back({"wrong issuer", "Bearer " + Identity::token_with(id.rsa(), issuer)});
  const auto claims = auth::base64url_encode(auth::claims_json(id.spec(victim)));
  out.push_back({"alg none", "Bearer " + auth::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + claims + "."});
  out.push_back({"alg none with the RSA kid",
                 "Bearer " + auth::base64url_encode(R"({"alg":"none","kid":"test-rsa"})") + "." + claims + "."});
  // HS256 "signed" with what an attacker knows of the RSA key: its public JWK and its modulus.
  const auto jwk = id.rsa().public_jwk().value();
  out.push_back(
      {"HS256 keyed with the RSA public key",
       "Bearer " + auth::SigningKey::hs256(jwk, "test-rsa").sign(auth::claims_json(id.spec(victim))).value()});
  out.push_back(
      {"HS256 without kid", "Bearer " + auth::SigningKey::hs256(jwk).sign(auth::claims_json(id.spec(victim))).value()});
  return out;
}

void check_401(const core::Result<http::ClientResponse>& r) {
  check_problem(r, 401);
  const auto challenge = r->header("www-authenticate");
  REQUIRE(challenge.has_value());
  CHECK(challenge->rfind("Bearer", 0) == 0);
}

struct Route {
  testing::Daemon* daemon;
  std::string method;
  std::string path;
  std::string body;
  int other_user_status;  // what another user's valid token gets
};

core::Result<http::ClientResponse> send(const Route& route, const std::optional<std::string>& authorization) {
  std::vector<http::Header> headers{{"Content-Type", json}, {"Idempotency-Key", "key-" + core::new_uuid_v7()}};
  if (authorization) headers.push_back({"Authorization", *authorization});
  return route.daemon->request(route.method, route.path, route.body, headers);
}

// What a request of any of these routes would write: its rows, and the states it
// would change. (Not the outboxes: the relay and the consumers move them on their own.)
std::string written(const testing::System& system, const std::string& unpaid_order) {
  std::string state;
  const std::vector<std::pair<std::string, std::vector<std::string>>> tables{
      {"payment-api", {"payments", "wallet_entries", "wallets"}},
      {"order-processor", {"orders"}},
      {"coupon-issuer", {"coupon_requests"}}};
  for (const auto& [service, names] : tables) {
    auto c = testing::connect(system.schema(service));
    for (const auto& table : names) {
      state += service + "." + table + "=" +
               std::to_string(testing::query_integer(c, "SELECT count(*) FROM " + table)) + " ";
    }
  }
  auto payments = testing::connect(system.schema("payment-api"));
  state += "owner-balance=" + std::to_string(testing::query_integer(
                                  payments, "SELECT coalesce(sum(balance), 0) FROM wallets WHERE user_id = 'owner'"));
  auto orders = testing::connect(system.schema("order-processor"));
  state += " unpaid-order-pending=" +
           std::to_string(testing::query_integer(
               orders, "SELECT count(*) FROM orders WHERE id = '" + unpaid_order + "' AND status = 'PENDING_PAYMENT'"));
  return state;
}

void write_jwks(const std::string& path, const std::vector<const auth::SigningKey*>& keys) {
  std::vector<std::string> jwks;
  for (const auto* k : keys) jwks.push_back(k->public_jwk().value());
  {
    std::ofstream out(path + ".tmp");
    out << auth::jwks_of(jwks);
  }
  // Renamed into place, as a Secret volume's update appears.
  std::filesystem::rename(path + ".tmp", path);
}

}  // namespace

TEST_CASE("every end-user route refuses every bad credential, answers another user 404/403, and writes nothing") {
  testing::System system;
  const std::map<std::string, std::string> admin{{"PAYPIPE_ADMIN_TOKEN", admin_token}};
  testing::Daemon payments(system, "payment-api", admin);
  testing::Daemon orders(system, "order-processor", admin);
  testing::Daemon coupons(system, "coupon-issuer", admin);
  payments.wait_ready();
  orders.wait_ready();
  coupons.wait_ready();
  const http::Header admin_header{"Authorization", "Bearer " + admin_token};
  const auto owner = testing::bearer("owner");
  const auto mallory = testing::bearer("mallory");

  // The owner's things: money, an unpaid order, a paid one, a coupon request.
  REQUIRE(orders
              .post("/v1/products",
                    R"({"productId":"id-1","name":"x","unitPrice":100,"totalStock":100,"saleOpensAt":")" +
                        core::format_rfc3339(core::now_ms() - 1h) + "\"}",
                    {admin_header})
              ->status == 201);
  auto deposit = payments.post("/v1/wallets/owner/deposits", R"({"amount":1000})",
                               {testing::deposit_credential(), {"Idempotency-Key", "d1"}});
  REQUIRE(deposit.ok());
  REQUIRE(deposit->status == 201);
  const std::string items = R"("items":[{"productId":"id-1","quantity":1,"unitPrice":100}],"fulfilment":"WAREHOUSE"})";
  auto unpaid = orders.post("/v1/orders", "{" + items, {owner});
  REQUIRE(unpaid->status == 201);
  const auto unpaid_id = field(unpaid->body, "orderId");
  auto to_pay = orders.post("/v1/orders", "{" + items, {owner});
  REQUIRE(to_pay->status == 201);
  const auto paid_id = field(to_pay->body, "orderId");
  std::optional<http::ClientResponse> payment;
  REQUIRE(testing::eventually(
      [&] {  // payment-api learns the order from order.created
        auto r = payments.post("/v1/payments", R"({"orderId":")" + paid_id + "\"}", {owner, {"Idempotency-Key", "p1"}});
        if (r.ok() && r->status == 201) payment = *r;
        return payment.has_value();
      },
      30s));
  const auto payment_id = field(payment->body, "paymentId");
  auto coupon = coupons.post(
      "/v1/coupons",
      R"({"name":"c","discount":10,"totalStock":10,"validFrom":"2020-01-01T00:00:00Z","validUntil":"2099-01-01T00:00:00Z"})",
      {admin_header});
  REQUIRE(coupon->status == 201);
  const auto coupon_id = field(coupon->body, "couponId");
  auto asked = coupons.post("/v1/coupons/" + coupon_id + "/issue", "", {owner});
  REQUIRE(asked->status == 202);
  const auto request_id = field(asked->body, "requestId");

  const std::vector<Route> routes{
      {&payments, "POST", "/v1/payments", R"({"orderId":")" + unpaid_id + R"(","userId":"owner"})", 403},
      {&payments, "POST", "/v1/payments", R"({"orderId":")" + unpaid_id + "\"}", 404},
      {&payments, "GET", "/v1/payments/" + payment_id, "", 404},
      {&payments, "GET", "/v1/wallets/owner", "", 404},
      {&orders, "GET", "/v1/products/id-1", "", 200},  // the catalogue: any signed-in user
      {&orders, "POST", "/v1/orders", R"({"userId":"owner",)" + items, 403},
      {&orders, "GET", "/v1/orders/" + unpaid_id, "", 404},
      {&orders, "POST", "/v1/orders/" + unpaid_id + "/cancel", R"({"userId":"owner"})", 403},
      {&orders, "POST", "/v1/orders/" + unpaid_id + "/cancel", "", 404},
      {&orders, "POST", "/v1/orders/" + paid_id + "/refund", R"({"userId":"owner"})", 403},
      {&orders, "POST", "/v1/orders/" + paid_id + "/refund", "", 404},
      {&coupons, "GET", "/v1/coupons/" + coupon_id, "", 200},
      {&coupons, "POST", "/v1/coupons/" + coupon_id + "/issue", R"({"userId":"owner"})", 403},
      {&coupons, "GET", "/v1/coupon-requests/" + request_id, "", 404},
      {&coupons, "GET", "/v1/users/owner/coupons", "", 404},
  };
  // Whatever arrives from Kafka for the owner's requests lands before the snapshot.
  REQUIRE(testing::eventually(
      [&] {
        auto r = coupons.get("/v1/coupon-requests/" + request_id, {owner});
        return r.ok() && r->body.find("PENDING") == std::string::npos;
      },
      30s));
  const auto before = written(system, unpaid_id);

  for (const auto& bad : bad_tokens("owner")) {
    for (const auto& route : routes) {
      INFO(bad.name << ": " << route.method << " " << route.path << " " << route.body);
      check_401(send(route, bad.authorization));
    }
  }
  for (const auto& route : routes) {
    INFO("another user's token: " << route.method << " " << route.path << " " << route.body);
    const auto r = send(route, mallory.value);
    if (route.other_user_status == 200) {
      REQUIRE(r.ok());
      CHECK(r->status == 200);
      continue;
    }
    check_problem(r, route.other_user_status);
    // Nothing about the owner shows (a path naming the owner is only echoed back).
    if (route.path.find("owner") == std::string::npos) CHECK(r->body.find("owner") == std::string::npos);
    CHECK(r->body.find("balance") == std::string::npos);
  }
  // The owner's own token works on the same routes (so the refusals above were about the token).
  CHECK(payments.get("/v1/wallets/owner", {owner})->status == 200);
  const auto own_order = orders.get("/v1/orders/" + unpaid_id, {owner});
  CHECK(own_order->status == 200);
  CHECK(field(own_order->body, "userId") == "owner");
  CHECK(coupons.get("/v1/coupon-requests/" + request_id, {owner})->status == 200);
  CHECK(payments.get("/v1/payments/" + payment_id, {testing::bearer("owner")})->status == 200);

  // Deposits: a service credential only. End-user tokens, even the wallet owner's, are 403.
  for (const auto& user : {"owner", "mallory"}) {
    INFO(user);
    check_problem(payments.post("/v1/wallets/owner/deposits", R"({"amount":500})",
                                {testing::bearer(user), {"Idempotency-Key", "d-" + std::string(user)}}),
                  403);
  }
  for (const auto& bad : bad_tokens("payment-provider")) {
    INFO("deposit with " << bad.name);
    std::vector<http::Header> headers{{"Idempotency-Key", "d-bad"}};
    if (bad.authorization) headers.push_back({"Authorization", *bad.authorization});
    check_401(payments.post("/v1/wallets/owner/deposits", R"({"amount":500})", headers));
  }
  check_401(payments.post("/v1/wallets/owner/deposits", R"({"amount":500})",
                          {{"Authorization", "Bearer not-the-admin-token"}, {"Idempotency-Key", "d-x"}}));

  const auto after = written(system, unpaid_id);
  CHECK(after == before);
  CHECK(after.find("owner-balance=900 unpaid-order-pending=1") != std::string::npos);

  // The admin token deposits too (an operator's correction).
  auto by_admin = payments.post("/v1/wallets/owner/deposits", R"({"amount":1})",
                                {admin_header, {"Idempotency-Key", "d2"}});
  REQUIRE(by_admin.ok());
  CHECK(by_admin->status == 201);
}

TEST_CASE("keys rotate through the JWKS file without a restart; a removed key is refused") {
  testing::System system;
  const auto dir = std::filesystem::temp_directory_path() / ("paypipe-rotation-" + core::new_uuid_v7());
  std::filesystem::create_directories(dir);
  const auto jwks = (dir / "jwks.json").string();
  const auto old_key = auth::SigningKey::generate(auth::Algorithm::rs256, "2026-01").value();
  const auto new_key = auth::SigningKey::generate(auth::Algorithm::es256, "2026-02").value();
  write_jwks(jwks, {&old_key});
  testing::Daemon api(system, "payment-api", {{"PAYPIPE_JWT_JWKS_FILE", jwks}});
  api.wait_ready();
  const auto pid = api.pid();
  const auto wallet = [&](const auth::SigningKey& key) {
    auto r = api.get("/v1/wallets/rotor",
                     {{"Authorization", "Bearer " + Identity::token_with(key, Identity::shared().spec("rotor"))}});
    REQUIRE(r.ok());
    return r->status;  // 404: authenticated (no wallet yet); 401: the key is not trusted
  };
  CHECK(wallet(old_key) == 404);
  CHECK(wallet(new_key) == 401);
  write_jwks(jwks, {&old_key, &new_key});
  CHECK(testing::eventually([&] { return wallet(new_key) == 404; }, 10s));
  CHECK(wallet(old_key) == 404);
  write_jwks(jwks, {&new_key});
  CHECK(testing::eventually([&] { return wallet(old_key) == 401; }, 10s));
  CHECK(wallet(new_key) == 404);
  CHECK(api.pid() == pid);
  CHECK(api.running());
  api.stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a start without a readable JWKS file fails, naming it") {
  testing::System system;
  testing::Daemon api(system, "payment-api", {{"PAYPIPE_JWT_JWKS_FILE", "/nonexistent/jwks.json"}});
  REQUIRE(testing::eventually([&] { return !api.running(); }, 30s));
  std::ifstream log(api.log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("/nonexistent/jwks.json") != std::string::npos);
}

TEST_CASE("writes past a user's budget are answered 429 with Retry-After; other users and reads go on") {
  testing::System system;
  testing::Daemon orders(system, "order-processor",
                         {{"PAYPIPE_RATE_LIMIT_PER_USER", "1"}, {"PAYPIPE_RATE_LIMIT_BURST", "2"}});
  orders.wait_ready();
  const auto busy = testing::bearer("busy");
  const auto missing = "/v1/orders/" + core::new_uuid_v7() + "/cancel";
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) statuses.push_back(orders.post(missing, "", {busy})->status);
  CHECK(statuses[0] == 404);
  CHECK(statuses[1] == 404);
  // A token bucket of 2 at 1/s: at most one more token can have arrived meanwhile.
  CHECK(std::count(statuses.begin(), statuses.end(), 429) >= 1);
  const auto limited = orders.post(missing, "", {busy});
  check_problem(limited, 429);
  REQUIRE(limited->header("retry-after").has_value());
  CHECK(std::stoi(std::string(*limited->header("retry-after"))) >= 1);
  CHECK(orders.post(missing, "", {testing::bearer("calm")})->status == 404);   // per user
  CHECK(orders.get("/v1/orders/" + core::new_uuid_v7(), {busy})->status == 404);  // reads are not limited
}
