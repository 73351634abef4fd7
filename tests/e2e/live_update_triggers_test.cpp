// The live-update triggers (libs/events/migrations/000_live_updates.sql and each
// streaming service's 021_*_per_statement.sql) on the real PostgreSQL, through plain SQL
// on each service's migrated schema: per statement, every user's updates are numbered
// gap-free in the statement's row order; an update that leaves status as it was writes
// nothing; concurrent transactions of one user take their ids in commit order; the data
// is what the streams documented before the triggers became set-based.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "core/json.hpp"
#include "core/uuid.hpp"
#include "coupon_issuer/schema.hpp"
#include "order_processor/schema.hpp"
#include "payment_api/schema.hpp"
#include "runtime/daemon.hpp"
#include "runtime/live_updates.hpp"
#include "support/fresh_schema.hpp"
#include "support/stack.hpp"

using namespace paypipe;
using namespace std::chrono_literals;

namespace {

// One update as a stream replays it: whose, which id, about which row.
struct Recorded {
  std::string user;
  std::int64_t id = 0;
  std::string subject;  // the payment, order or request id in data
  std::string status;

  bool operator==(const Recorded&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Recorded& r) {
  return out << r.user << "#" << r.id << " " << r.subject << " " << r.status;
}

// Every update of `table`, by user and id; `subject` names the data field of the row's id.
std::vector<Recorded> recorded(pg::Connection& connection, const std::string& table, const std::string& subject) {
  auto rows = connection.exec("SELECT user_id, id, data->>$1, data->>'status' FROM " + table + " ORDER BY user_id, id",
                              subject);
  REQUIRE(rows.ok());
  std::vector<Recorded> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back({rows->str(i, 0), rows->integer(i, 1), rows->str(i, 2), rows->str(i, 3)});
  }
  return out;
}

// What the streams expect after `rows` (user, subject, status), in statement order, were
// appended to what `before` holds: each user's next ids, one after the other.
std::vector<Recorded> appended(std::vector<Recorded> before,
                               const std::vector<std::tuple<std::string, std::string, std::string>>& rows) {
  std::map<std::string, std::int64_t> last;
  for (const auto& r : before) last[r.user] = std::max(last[r.user], r.id);
  for (const auto& [user, subject, status] : rows) before.push_back({user, ++last[user], subject, status});
  std::sort(before.begin(), before.end(),
            [](const auto& a, const auto& b) { return std::tie(a.user, a.id) < std::tie(b.user, b.id); });
  return before;
}

struct Payments : testing::FreshSchema {
  Payments() : FreshSchema("live_payments", runtime::with_event_tables(payment_api::schema::embedded_files())) {}

  // One INSERT of completed payments, in the order given (payment-api's batch shape);
  // the rows it wrote.
  static std::int64_t insert(pg::Connection& connection, const std::vector<std::string>& ids,
                             const std::vector<std::string>& users) {
    auto r = connection.exec(
        "INSERT INTO payments (id, order_id, user_id, amount, currency, status, idempotency_key, request_fingerprint) "
        "SELECT id, gen_random_uuid(), user_id, 100 * nth, 'KRW', 'COMPLETED', id::text, 'print' "
        "FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS p(id, user_id, nth) ORDER BY nth",
        ids, users);
    return r ? r->affected() : -1;
  }

  std::vector<Recorded> updates() { return recorded(connection, "payment_updates", "paymentId"); }
};

std::vector<std::string> fresh_ids(std::size_t n) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(core::new_uuid_v7());
  return ids;
}

}  // namespace

TEST_CASE("one multi-row INSERT numbers each user's payment updates gap-free in row order", "[live-updates]") {
  Payments db;
  const auto first = fresh_ids(6);
  const std::vector<std::string> first_users{"ann", "bob", "ann", "ann", "cy", "bob"};
  REQUIRE(Payments::insert(db.connection, first, first_users) == 6);
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  for (std::size_t i = 0; i < first.size(); ++i) rows.emplace_back(first_users[i], first[i], "COMPLETED");
  auto expected = appended({}, rows);
  CHECK(db.updates() == expected);

  // A second statement continues each user's ids where the first left them.
  const auto second = fresh_ids(3);
  const std::vector<std::string> second_users{"cy", "ann", "cy"};
  REQUIRE(Payments::insert(db.connection, second, second_users) == 3);
  rows.clear();
  for (std::size_t i = 0; i < second.size(); ++i) rows.emplace_back(second_users[i], second[i], "COMPLETED");
  expected = appended(expected, rows);
  CHECK(db.updates() == expected);

  // The data is what 020_payment_updates.sql wrote, field for field.
  CHECK(testing::query_integer(
            db.connection,
            "SELECT count(*) FROM payment_updates u JOIN payments p ON p.id::text = u.data->>'paymentId' "
            "WHERE u.type = 'payment.status' AND u.data = jsonb_build_object("
            "'paymentId', p.id, 'orderId', p.order_id, 'status', p.status, 'amount', p.amount, "
            "'currency', p.currency, 'failureReason', p.failure_reason, "
            "'statusUrl', '/v1/payments/' || p.id)") == 9);
}

TEST_CASE("one multi-row UPDATE records the payments whose status changed, in row order, and no others",
          "[live-updates]") {
  Payments db;
  const auto ids = fresh_ids(6);
  const std::vector<std::string> users{"ann", "bob", "ann", "bob", "ann", "ann"};
  REQUIRE(Payments::insert(db.connection, ids, users) == 6);
  auto expected = db.updates();
  REQUIRE(expected.size() == 6);

  // Four refunds and two rows rewritten with the status they had, in one statement;
  // RETURNING gives the rows in the order the statement changed them.
  const std::vector<std::string> refunded{ids[0], ids[1], ids[4], ids[5]};
  auto changed = db.connection.exec(
      "UPDATE payments SET status = CASE WHEN id = ANY($1::uuid[]) THEN 'REFUNDED' ELSE status END, "
      "refunded_at = now() WHERE id = ANY($2::uuid[]) RETURNING id, user_id, status",
      refunded, ids);
  REQUIRE(changed.ok());
  REQUIRE(changed->size() == 6);
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  for (int i = 0; i < changed->size(); ++i) {
    if (changed->str(i, 2) == "REFUNDED") rows.emplace_back(changed->str(i, 1), changed->str(i, 0), "REFUNDED");
  }
  REQUIRE(rows.size() == 4);
  expected = appended(expected, rows);
  CHECK(db.updates() == expected);

  // Statements that change no status write nothing: other columns only, and no row.
  REQUIRE(db.connection.exec("UPDATE payments SET failure_reason = 'none', refunded_at = now()").ok());
  REQUIRE(db.connection.exec("UPDATE payments SET status = 'FAILED' WHERE false").ok());
  CHECK(db.updates() == expected);
  CHECK(testing::query_integer(db.connection, "SELECT sum(last_id) FROM payment_update_counters") == 10);
}

TEST_CASE("concurrent transactions of one user take payment update ids in commit order; a rollback gives its id back",
          "[live-updates]") {
  Payments db;
  auto other = testing::connect(db.schema);
  const auto ids = fresh_ids(4);

  // `first` on the fixture's connection holds the user's counter row; `second` on the
  // other one inserts for the same user in a thread, and must wait for it.
  auto race = [&](const std::string& first, const std::string& second, const char* first_ends) {
    REQUIRE(db.connection.exec("BEGIN").ok());
    REQUIRE(Payments::insert(db.connection, {first}, {"dee"}) == 1);
    bool second_committed = false;  // Catch's assertions belong to the test's thread
    std::thread writer([&] {
      second_committed = other.exec("BEGIN").ok() && Payments::insert(other, {second}, {"dee"}) == 1 &&
                         other.exec("COMMIT").ok();
    });
    const bool waits = testing::eventually(
        [&] {
          return testing::query_integer(db.connection,
                                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND pid = " +
                                            std::to_string(other.backend_pid())) == 1;
        },
        10s);
    CHECK(waits);
    CHECK(db.connection.exec(first_ends).ok());
    writer.join();
    REQUIRE(second_committed);
  };

  race(ids[0], ids[1], "ROLLBACK");
  CHECK(db.updates() == std::vector<Recorded>{{"dee", 1, ids[1], "COMPLETED"}});
  race(ids[2], ids[3], "COMMIT");
  CHECK(db.updates() == std::vector<Recorded>{{"dee", 1, ids[1], "COMPLETED"},
                                              {"dee", 2, ids[2], "COMPLETED"},
                                              {"dee", 3, ids[3], "COMPLETED"}});
}

TEST_CASE("an order's updates carry its refund reason", "[live-updates]") {
  testing::FreshSchema db("live_orders", runtime::with_event_tables(order_processor::schema::embedded_files()));
  const auto order = core::new_uuid_v7();
  REQUIRE(db.connection
              .exec("INSERT INTO orders (id, user_id, status, fulfilment, total_amount, currency, expires_at, "
                    "created_at, updated_at) "
                    "VALUES ($1, 'eve', 'PAYMENT_COMPLETED', 'SHIPPING', 500, 'KRW', now() + interval '1 hour', "
                    "now(), now())",
                    order)
              .ok());
  REQUIRE(db.connection
              .exec("UPDATE orders SET status = 'REFUND_REQUESTED', refund_reason = 'USER_REQUESTED', "
                    "updated_at = now() WHERE id = $1",
                    order)
              .ok());
  REQUIRE(db.connection.exec("UPDATE orders SET updated_at = now() WHERE id = $1", order).ok());
  CHECK(recorded(db.connection, "order_updates", "orderId") ==
        std::vector<Recorded>{{"eve", 1, order, "PAYMENT_COMPLETED"}, {"eve", 2, order, "REFUND_REQUESTED"}});

  auto rows = db.connection.exec("SELECT data::text FROM order_updates WHERE user_id = 'eve' ORDER BY id");
  REQUIRE(rows.ok());
  auto created = core::json::parse(rows->str(0, 0));
  auto refund = core::json::parse(rows->str(1, 0));
  REQUIRE(created.ok());
  REQUIRE(refund.ok());
  REQUIRE((*created).HasMember("refundReason"));
  CHECK((*created)["refundReason"].IsNull());
  CHECK(std::string((*refund)["refundReason"].GetString()) == "USER_REQUESTED");
  for (const char* field :
       {"orderId", "status", "cancelReason", "totalAmount", "currency", "fulfilment", "updatedAt", "statusUrl"}) {
    CHECK((*refund).HasMember(field));
  }
}

TEST_CASE("a coupon decision upserted over PENDING requests records each request once; notifying writes nothing",
          "[live-updates]") {
  testing::FreshSchema db("live_coupons", runtime::with_event_tables(coupon_issuer::schema::embedded_files()));
  const auto coupon = core::new_uuid_v7();
  const auto ids = fresh_ids(3);
  // The HTTP side's PENDING rows, then the decider's one upsert: one decides a PENDING
  // row (an update), two were never PENDING here (inserts).
  REQUIRE(db.connection
              .exec("INSERT INTO coupon_requests (request_id, coupon_id, user_id, status, requested_at) "
                    "VALUES ($1, $2, 'fay', 'PENDING', now())",
                    ids[0], coupon)
              .ok());
  REQUIRE(db.connection
              .exec("INSERT INTO coupon_requests (request_id, coupon_id, user_id, status, reason, requested_at, "
                    "decided_at) "
                    "SELECT id, $2, user_id, status, NULLIF(reason, ''), now(), now() "
                    "FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[]) AS r(id, user_id, status, reason) "
                    "ON CONFLICT (request_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, "
                    "decided_at = EXCLUDED.decided_at WHERE coupon_requests.status = 'PENDING'",
                    ids, coupon, std::vector<std::string>{"fay", "fay", "gus"},
                    std::vector<std::string>{"REJECTED", "REJECTED", "REJECTED"},
                    std::vector<std::string>{"OUT_OF_STOCK", "OUT_OF_STOCK", "ALREADY_ISSUED"})
              .ok());
  REQUIRE(db.connection.exec("UPDATE coupon_requests SET notified_at = now()").ok());

  auto got = recorded(db.connection, "coupon_updates", "requestId");
  REQUIRE(got.size() == 4);
  CHECK(got[0] == Recorded{"fay", 1, ids[0], "PENDING"});
  // fay's decided and new request, ids 2 and 3 in either trigger's turn; gus's first.
  CHECK(got[1].user == "fay");
  CHECK(got[1].id == 2);
  CHECK(got[2].user == "fay");
  CHECK(got[2].id == 3);
  CHECK(std::set<std::string>{got[1].subject, got[2].subject} == std::set<std::string>{ids[0], ids[1]});
  CHECK(got[3] == Recorded{"gus", 1, ids[2], "REJECTED"});
}

TEST_CASE("the hub's batched read: every user's own rows after their id, in order, a page each, in one statement",
          "[live-updates]") {
  Payments db;
  // ann 1..4, bob 1..2, cy 1, "a\"quote" 1 (a name the array literal must escape); dan none.
  const auto ids = fresh_ids(8);
  const std::vector<std::string> users{"ann", "bob", "ann", "cy", "ann", "bob", "ann", R"(a"quote)"};
  REQUIRE(Payments::insert(db.connection, ids, users) == 8);
  auto payment_ids = [](const std::vector<http::StreamEvent>& events) {
    std::vector<std::pair<std::int64_t, std::string>> out;
    for (const auto& e : events) {
      auto data = core::json::parse(e.data);
      REQUIRE(data);
      out.emplace_back(e.id, (*data)["paymentId"].GetString());
    }
    return out;
  };
  using Got = std::vector<std::pair<std::int64_t, std::string>>;

  const std::vector<http::UpdateRead> reads{{"ann", 1}, {"bob", 0},        {"cy", 1},
                                            {"dan", 0}, {R"(a"quote)", 0}, {"cy", -1}};
  auto got = runtime::read_updates(db.connection, "payment_updates", reads, 200);
  REQUIRE(got.ok());
  REQUIRE(got->size() == reads.size());
  CHECK(payment_ids((*got)[0]) == Got{{2, ids[2]}, {3, ids[4]}, {4, ids[6]}});
  CHECK(payment_ids((*got)[1]) == Got{{1, ids[1]}, {2, ids[5]}});
  CHECK((*got)[2].empty());  // cy is up to date
  CHECK((*got)[3].empty());  // dan has no updates at all
  CHECK(payment_ids((*got)[4]) == Got{{1, ids[7]}});
  CHECK(payment_ids((*got)[5]) == Got{{1, ids[3]}});  // "from now": cy's latest alone

  // A page per user: the hub asks again for the rest.
  auto paged = runtime::read_updates(db.connection, "payment_updates", {{"ann", 0}, {"bob", 0}}, 2);
  REQUIRE(paged.ok());
  CHECK(payment_ids((*paged)[0]) == Got{{1, ids[0]}, {2, ids[2]}});
  CHECK(payment_ids((*paged)[1]) == Got{{1, ids[1]}, {2, ids[5]}});

  // ann's first two were pruned: resuming after 0 starts with a reset at id 2.
  REQUIRE(db.connection.exec("DELETE FROM payment_updates WHERE user_id = 'ann' AND id <= 2").ok());
  auto resumed = runtime::read_updates(db.connection, "payment_updates", {{"ann", 0}, {"bob", 1}}, 200);
  REQUIRE(resumed.ok());
  REQUIRE((*resumed)[0].size() == 3);
  CHECK((*resumed)[0][0].type == "reset");
  CHECK((*resumed)[0][0].id == 2);
  CHECK(payment_ids({(*resumed)[0][1], (*resumed)[0][2]}) == Got{{3, ids[4]}, {4, ids[6]}});
  CHECK(payment_ids((*resumed)[1]) == Got{{2, ids[5]}});
}
