// coupon-issuer as a process: thousands of users racing for a small stock through its
// HTTP API, one user asking again and again, expired and unknown coupons, a clean stop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "support/daemon.hpp"
#include "support/identity.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

const std::string admin_token = "e2e-admin-token";

std::string field(const std::string& json, const char* name) {
  auto doc = core::json::parse(json);
  REQUIRE(doc.ok());
  REQUIRE(doc->HasMember(name));
  return (*doc)[name].GetString();
}

std::string create_coupon(testing::Daemon& issuer, std::int64_t stock, core::SystemTime from, core::SystemTime until) {
  const auto body = R"({"name":"e2e","discount":1000,"totalStock":)" + std::to_string(stock) + R"(,"validFrom":")" +
                    core::format_rfc3339(from) + R"(","validUntil":")" + core::format_rfc3339(until) + R"("})";
  auto created = issuer.post("/v1/coupons", body, {{"Authorization", "Bearer " + admin_token}});
  REQUIRE(created.ok());
  REQUIRE(created->status == 201);
  return field(created->body, "couponId");
}

std::string ask(testing::Daemon& issuer, const std::string& coupon, const std::string& user) {
  auto answer = issuer.post("/v1/coupons/" + coupon + "/issue", R"({"userId":")" + user + R"("})",
                            {testing::bearer(user)});
  REQUIRE(answer.ok());
  REQUIRE(answer->status == 202);
  return field(answer->body, "statusUrl");
}

}  // namespace

TEST_CASE("5,000 users racing for 100 coupons through the HTTP API: exactly 100 issued, nobody twice") {
  testing::System system;
  testing::Daemon issuer(system, "coupon-issuer", {{"PAYPIPE_ADMIN_TOKEN", admin_token}});
  issuer.wait_ready();
  const auto coupon = create_coupon(issuer, 100, core::now_ms() - 1h, core::now_ms() + 1h);

  constexpr int users = 5'000, threads = 16;
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      http::Client client;
      for (int u = t; u < users; u += threads) {
        const auto user = "user-" + std::to_string(u);
        auto r = client.send({"POST",
                              issuer.url("/v1/coupons/" + coupon + "/issue"),
                              {{"Content-Type", "application/json"}, testing::bearer(user)},
                              R"({"userId":")" + user + R"("})",
                              10s});
        (r.ok() && r->status == 202 ? accepted : refused)++;
      }
    });
  }
  for (auto& c : clients) c.join();
  REQUIRE(accepted == users);
  REQUIRE(refused == 0);

  auto db = testing::connect(system.schema("coupon-issuer"));
  REQUIRE(testing::eventually(
      [&] {
        return testing::query_integer(db, "SELECT count(*) FROM coupon_requests WHERE status <> 'PENDING'") == users;
      },
      60s, 100ms));
  CHECK(testing::query_integer(db, "SELECT count(*) FROM coupon_requests") == users);
  CHECK(testing::query_integer(db, "SELECT count(*) FROM coupon_requests WHERE status = 'ISSUED'") == 100);
  CHECK(testing::query_integer(db, "SELECT count(*) FROM coupon_requests WHERE reason = 'OUT_OF_STOCK'") == 4'900);
  CHECK(testing::query_integer(db, "SELECT count(*) FROM issued_coupons") == 100);
  CHECK(testing::query_integer(db, "SELECT count(DISTINCT user_id) FROM issued_coupons") == 100);
  auto state = issuer.get("/v1/coupons/" + coupon, {testing::bearer("watcher")});
  REQUIRE(state.ok());
  CHECK(state->body.find("\"remainingStock\":0") != std::string::npos);

  // The outcomes reach Kafka once each, keyed by user.
  const auto issued = testing::read_topic(system.kafka(), system.kafka().topic("coupon.issued"), 100, 30s);
  REQUIRE(issued.size() == 100);
  std::set<std::string> winners;
  for (const auto& r : issued) winners.insert(r.key.value_or(""));
  CHECK(winners.size() == 100);
  CHECK(issuer.stop() == 0);
}

TEST_CASE("one user asking ten times holds one coupon; expired and unknown coupons are refused") {
  testing::System system;
  testing::Daemon issuer(system, "coupon-issuer", {{"PAYPIPE_ADMIN_TOKEN", admin_token}});
  issuer.wait_ready();
  const auto coupon = create_coupon(issuer, 10, core::now_ms() - 1h, core::now_ms() + 1h);
  const auto expired = create_coupon(issuer, 10, core::now_ms() - 2h, core::now_ms() - 1h);
  const auto unknown = core::new_uuid_v7();

  std::vector<std::string> mine;
  for (int i = 0; i < 10; ++i) mine.push_back(ask(issuer, coupon, "eager"));
  const auto too_late = ask(issuer, expired, "eager");
  // An unknown coupon is refused at the edge: 404, nothing sent to Kafka or recorded.
  const auto nowhere = issuer.post("/v1/coupons/" + unknown + "/issue", "", {testing::bearer("eager")});
  REQUIRE(nowhere.ok());
  CHECK(nowhere->status == 404);

  const auto outcome = [&](const std::string& url) {
    auto r = issuer.get(url, {testing::bearer("eager")});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    return r->body;
  };
  std::vector<std::string> all = mine;
  all.push_back(too_late);
  REQUIRE(testing::eventually(
      [&] {
        return std::all_of(all.begin(), all.end(),
                           [&](const std::string& url) { return field(outcome(url), "status") != "PENDING"; });
      },
      30s, 50ms));
  int issued = 0, already = 0;
  for (const auto& url : mine) {
    const auto body = outcome(url);
    issued += field(body, "status") == "ISSUED";
    already += body.find("ALREADY_ISSUED") != std::string::npos;
  }
  CHECK(issued == 1);
  CHECK(already == 9);
  CHECK(field(outcome(mine.front()), "status") == "ISSUED");  // the first to arrive
  CHECK(field(outcome(too_late), "reason") == "EXPIRED");

  CHECK(issuer.get(mine.front(), {testing::bearer("someone-else")})->status == 404);
  CHECK(issuer.get("/v1/users/eager/coupons", {testing::bearer("someone-else")})->status == 404);
  auto held = issuer.get("/v1/users/eager/coupons", {testing::bearer("eager")});
  REQUIRE(held.ok());
  auto doc = core::json::parse(held->body);
  REQUIRE(doc.ok());
  REQUIRE((*doc)["coupons"].Size() == 1);
  CHECK(std::string((*doc)["coupons"][0]["couponId"].GetString()) == coupon);

  auto unauthorised = issuer.post("/v1/coupons", "{}");
  REQUIRE(unauthorised.ok());
  CHECK(unauthorised->status == 401);
  CHECK(issuer.stop() == 0);
}
