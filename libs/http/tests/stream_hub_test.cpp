// The live-update hub without sockets: a map stands in for the updates table and reads
// run inline, so each test sees exactly what a connection would be sent.
#include "http/stream_hub.hpp"

#include <catch2/catch.hpp>

#include <deque>

using namespace paypipe;

namespace {

struct Updates {
  std::map<std::string, std::vector<http::StreamEvent>> rows;  // per user, in id order
  bool failing = false;
  int reads = 0;                                         // statements
  std::vector<std::vector<std::string>> users_per_read;  // whose updates each one read

  void add(const std::string& user, std::string data = R"({"orderId":"o1","status":"PAID"})") {
    auto& mine = rows[user];
    mine.push_back(http::StreamEvent{static_cast<std::int64_t>(mine.size()) + 1, "order.status", std::move(data)});
  }

  http::UpdateReader reader() {
    return [this](const std::vector<http::UpdateRead>& batch,
                  std::size_t limit) -> core::Result<std::vector<std::vector<http::StreamEvent>>> {
      ++reads;
      users_per_read.emplace_back();
      if (failing) return core::make_error(core::ErrorCategory::unavailable, "db-down", "database down");
      std::vector<std::vector<http::StreamEvent>> out;
      for (const auto& [user, after] : batch) {
        users_per_read.back().push_back(user);
        auto& theirs = out.emplace_back();
        const auto& mine = rows[user];
        if (after < 0) {
          if (!mine.empty()) theirs.push_back(mine.back());
          continue;
        }
        for (const auto& row : mine) {
          if (row.id > after && theirs.size() < limit) theirs.push_back(row);
        }
      }
      return out;
    };
  }
};

http::Executor inline_executor() {
  return [](std::function<void()> task) { task(); };
}

std::vector<std::int64_t> ids(const std::vector<http::StreamEvent>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

}  // namespace

TEST_CASE("a stream resumed after an id replays what was missed, then gets each live update once") {
  Updates db;
  for (int i = 0; i < 3; ++i) db.add("alice");
  auto hub = http::StreamHub::create({}, db.reader(), inline_executor());
  auto stream = hub->open("alice", 1);
  REQUIRE(stream.ok());
  CHECK(ids((*stream)->take()) == std::vector<std::int64_t>{2, 3});

  db.add("alice");
  hub->notify("alice");
  hub->notify("alice");  // a duplicated signal sends nothing twice
  CHECK(ids((*stream)->take()) == std::vector<std::int64_t>{4});
  hub->notify("alice");
  CHECK((*stream)->take().empty());
  CHECK((*stream)->last_id() == 4);
}

TEST_CASE("a stream opened without an id starts from now; lastEventId=0 replays everything kept") {
  Updates db;
  for (int i = 0; i < 3; ++i) db.add("alice");
  auto hub = http::StreamHub::create({}, db.reader(), inline_executor());
  auto now = hub->open("alice", -1);
  auto all = hub->open("alice", 0);
  REQUIRE(now.ok());
  REQUIRE(all.ok());
  CHECK((*now)->take().empty());
  CHECK(ids((*all)->take()) == std::vector<std::int64_t>{1, 2, 3});
  db.add("alice");
  hub->notify("alice");
  CHECK(ids((*now)->take()) == std::vector<std::int64_t>{4});
  CHECK(ids((*all)->take()) == std::vector<std::int64_t>{4});
}

TEST_CASE("a user's stream never receives another user's updates") {
  Updates db;
  auto hub = http::StreamHub::create({}, db.reader(), inline_executor());
  auto bob = hub->open("bob", 0);
  REQUIRE(bob.ok());
  db.add("alice");
  hub->notify("alice");
  hub->notify_all();
  CHECK((*bob)->take().empty());
  CHECK_FALSE(hub->has_user("alice"));  // no stream of alice here: her signal costs no read
}

TEST_CASE("a live client that does not read is cut; the others keep their updates") {
  Updates db;
  http::StreamLimits limits;
  limits.buffer_bytes = 400;
  auto hub = http::StreamHub::create(limits, db.reader(), inline_executor());
  auto slow = hub->open("alice", -1);
  auto quick = hub->open("alice", -1);
  auto other = hub->open("bob", -1);
  REQUIRE(slow.ok());
  REQUIRE(quick.ok());
  REQUIRE(other.ok());
  std::vector<std::int64_t> received;
  std::size_t bobs = 0;
  for (int i = 0; i < 20; ++i) {
    db.add("alice", std::string(80, 'x'));
    db.add("bob");
    hub->notify("alice");
    hub->notify("bob");
    for (auto id : ids((*quick)->take())) received.push_back(id);
    bobs += (*other)->take().size();
  }
  CHECK((*slow)->cut());
  CHECK((*slow)->cut_reason() == "slow-consumer");
  CHECK((*slow)->buffered_bytes() <= limits.buffer_bytes);
  CHECK(received.size() == 20);
  CHECK(received.back() == 20);
  CHECK_FALSE((*quick)->cut());
  CHECK(bobs == 20);

  (*slow)->release();
  CHECK(hub->connections() == 2);
}

TEST_CASE("a long backlog is replayed a page at a time as the client drains it, never cut") {
  Updates db;
  for (int i = 0; i < 1000; ++i) db.add("alice", std::string(50, 'y'));
  http::StreamLimits limits;
  limits.buffer_bytes = 1000;
  limits.page = 64;
  auto hub = http::StreamHub::create(limits, db.reader(), inline_executor());
  auto stream = hub->open("alice", 0);
  REQUIRE(stream.ok());
  std::vector<std::int64_t> received;
  for (int round = 0; round < 200 && received.size() < 1000; ++round) {
    for (auto id : ids((*stream)->take())) received.push_back(id);
    CHECK_FALSE((*stream)->cut());
  }
  REQUIRE(received.size() == 1000);
  for (std::size_t i = 0; i < received.size(); ++i) REQUIRE(received[i] == static_cast<std::int64_t>(i) + 1);
  // Caught up: live now, so a client that stops reading is cut.
  for (int i = 0; i < 40; ++i) {
    db.add("alice", std::string(50, 'z'));
    hub->notify("alice");
  }
  CHECK((*stream)->cut());
}

TEST_CASE("streams past the per-user or per-daemon cap are refused as unavailable") {
  Updates db;
  http::StreamLimits limits;
  limits.max_per_user = 2;
  limits.max_connections = 3;
  auto hub = http::StreamHub::create(limits, db.reader(), inline_executor());
  auto a1 = hub->open("alice", -1);
  auto a2 = hub->open("alice", -1);
  REQUIRE(a1.ok());
  REQUIRE(a2.ok());
  auto a3 = hub->open("alice", -1);
  REQUIRE_FALSE(a3.ok());
  CHECK(a3.error().category == core::ErrorCategory::unavailable);
  CHECK(a3.error().code == "too-many-streams");
  auto b1 = hub->open("bob", -1);
  REQUIRE(b1.ok());
  CHECK_FALSE(hub->open("carol", -1).ok());  // the daemon's cap
  (*a1)->release();
  CHECK(hub->open("carol", -1).ok());
}

TEST_CASE("a signal during a read is not lost: the user is read once more") {
  Updates db;
  std::deque<std::function<void()>> queued;
  auto hub = http::StreamHub::create({}, db.reader(),
                                     [&queued](std::function<void()> task) { queued.push_back(std::move(task)); });
  auto stream = hub->open("alice", 0);
  REQUIRE(stream.ok());
  REQUIRE(queued.size() == 1);  // the opening read
  db.add("alice");
  hub->notify("alice");  // while the opening read is queued: coalesced into it
  CHECK(queued.size() == 1);
  auto task = std::move(queued.front());
  queued.pop_front();
  task();
  CHECK(ids((*stream)->take()) == std::vector<std::int64_t>{1});
  CHECK(queued.empty());
}

TEST_CASE("users signalled together are read in one batch: each gets exactly their rows, in order") {
  Updates db;
  std::deque<std::function<void()>> queued;
  auto run_queued = [&queued] {
    while (!queued.empty()) {
      auto task = std::move(queued.front());
      queued.pop_front();
      task();
    }
  };
  http::StreamLimits limits;
  limits.concurrent_reads = 1;
  auto hub = http::StreamHub::create(limits, db.reader(),
                                     [&queued](std::function<void()> task) { queued.push_back(std::move(task)); });
  std::map<std::string, std::shared_ptr<http::StreamConnection>> streams;
  for (const std::string user : {"ann", "bob", "cy", "dee"}) {
    db.add(user);
    auto stream = hub->open(user, -1);  // after their first update
    REQUIRE(stream.ok());
    streams[user] = *stream;
  }
  run_queued();  // the opening reads
  for (auto& [user, stream] : streams) CHECK(stream->take().empty());

  db.add("ann", R"({"n":"ann2"})");
  db.add("bob", R"({"n":"bob2"})");
  db.add("ann", R"({"n":"ann3"})");
  db.add("cy", R"({"n":"cy2"})");
  db.add("bob", R"({"n":"bob3"})");
  db.add("ann", R"({"n":"ann4"})");
  db.add("eve");  // no stream here
  const int reads_before = db.reads;
  for (const std::string user : {"ann", "bob", "cy", "dee", "eve", "ann"}) hub->notify(user);
  REQUIRE(queued.size() == 1);  // one wake-up for all of them
  run_queued();
  CHECK(db.reads == reads_before + 1);
  CHECK(db.users_per_read.back() == std::vector<std::string>{"ann", "bob", "cy", "dee"});

  auto datas = [](const std::vector<http::StreamEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.data);
    return out;
  };
  auto ann = streams["ann"]->take();
  CHECK(ids(ann) == std::vector<std::int64_t>{2, 3, 4});
  CHECK(datas(ann) == std::vector<std::string>{R"({"n":"ann2"})", R"({"n":"ann3"})", R"({"n":"ann4"})"});
  CHECK(datas(streams["bob"]->take()) == std::vector<std::string>{R"({"n":"bob2"})", R"({"n":"bob3"})"});
  CHECK(datas(streams["cy"]->take()) == std::vector<std::string>{R"({"n":"cy2"})"});
  CHECK(streams["dee"]->take().empty());  // signalled, nothing new
}

TEST_CASE("a batch holds at most batch_users users; the rest are read by the next one") {
  Updates db;
  std::deque<std::function<void()>> queued;
  http::StreamLimits limits;
  limits.batch_users = 2;
  limits.concurrent_reads = 1;
  auto hub = http::StreamHub::create(limits, db.reader(),
                                     [&queued](std::function<void()> task) { queued.push_back(std::move(task)); });
  std::vector<std::shared_ptr<http::StreamConnection>> streams;
  const std::vector<std::string> users{"u1", "u2", "u3", "u4", "u5"};
  for (const auto& user : users) {
    auto stream = hub->open(user, 0);
    REQUIRE(stream.ok());
    streams.push_back(*stream);
    db.add(user);
  }
  REQUIRE(queued.size() == 1);
  auto task = std::move(queued.front());
  queued.pop_front();
  task();
  CHECK(queued.empty());
  // The opening reads as three batches: u1 u2, u3 u4, u5.
  REQUIRE(db.users_per_read.size() == 3);
  CHECK(db.users_per_read[0] == std::vector<std::string>{"u1", "u2"});
  CHECK(db.users_per_read[2] == std::vector<std::string>{"u5"});
  for (auto& stream : streams) CHECK(ids(stream->take()) == std::vector<std::int64_t>{1});
}

TEST_CASE("a failed read closes the user's streams, so their clients resume from their last id") {
  Updates db;
  auto hub = http::StreamHub::create({}, db.reader(), inline_executor());
  auto stream = hub->open("alice", 0);
  REQUIRE(stream.ok());
  db.failing = true;
  db.add("alice");
  hub->notify("alice");
  CHECK((*stream)->cut());
  CHECK((*stream)->cut_reason() == "unavailable");
}

TEST_CASE("the resume id is read strictly") {
  CHECK(http::StreamHub::parse_last_id(std::nullopt) == -1);
  CHECK(http::StreamHub::parse_last_id("") == -1);
  CHECK(http::StreamHub::parse_last_id("42") == 42);
  CHECK(http::StreamHub::parse_last_id("0") == 0);
  CHECK_FALSE(http::StreamHub::parse_last_id("-3").has_value());
  CHECK_FALSE(http::StreamHub::parse_last_id("4x").has_value());
}

TEST_CASE("frames: SSE with id and event lines, WebSocket as one JSON object") {
  const http::StreamEvent event{7, "order.status", R"({"status":"PAID"})"};
  CHECK(http::sse_frame(event) == "id: 7\nevent: order.status\ndata: {\"status\":\"PAID\"}\n\n");
  CHECK(http::websocket_frame(event) == R"({"id":7,"type":"order.status","data":{"status":"PAID"}})");
}

TEST_CASE("what the server wrote to a user's socket is reported to the delivered hook") {
  Updates db;
  db.add("alice");
  auto hub = http::StreamHub::create({}, db.reader(), inline_executor());
  std::vector<std::pair<std::string, std::int64_t>> reported;
  hub->on_delivered([&reported](const std::string& user, const std::vector<http::StreamEvent>& events) {
    for (const auto& e : events) reported.emplace_back(user, e.id);
  });
  auto stream = hub->open("alice", 0);
  REQUIRE(stream.ok());
  auto sent = (*stream)->take();
  CHECK(reported.empty());  // taken is not yet written
  (*stream)->delivered(std::move(sent));
  REQUIRE(reported.size() == 1);
  CHECK(reported[0] == std::pair<std::string, std::int64_t>{"alice", 1});
}
