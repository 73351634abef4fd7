// dlq-retrier as a process, killed with SIGKILL while its Kafka transaction is open and
// replaced by a process under another hostname (as Kubernetes replaces a Deployment's
// pod): the replacement inherits the transactional.id, so its init fences the dead
// producer and aborts its open transaction at once, and read_committed readers of
// retry.<group> carry on well within transaction.timeout.ms.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "events/dead_letter.hpp"
#include "fixture.hpp"
#include "support/daemon.hpp"

using namespace paypipe;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> retrier_env(const std::string& hostname) {
  // HOSTNAME as Kubernetes sets it (the pod's name; the default id once derived from it,
  // and this test failed then: nothing visible 30 s after the kill). No
  // PAYPIPE_RETRIER_TRANSACTIONAL_ID: the default id. A long transaction timeout, so that
  // a transaction aborted by that timeout cannot pass for one aborted by fencing; a short
  // session, so that the killed member's dlq partitions move on soon.
  return {{"HOSTNAME", hostname},
          {"PAYPIPE_RETRIER_INTERVAL_MS", "1000"},
          {"PAYPIPE_RETRIER_MAX_RETRIES", "2"},
          {"PAYPIPE_RETRIER_BATCH_SIZE", "100"},
          {"PAYPIPE_RETRIER_TRANSACTION_TIMEOUT_MS", "120000"},
          {"PAYPIPE_KAFKA_PROPERTIES", "topic.metadata.refresh.interval.ms=1000;session.timeout.ms=6000"}};
}

events::OutgoingRecord dead_letter(const testing::System& system, const std::string& group, const std::string& key) {
  const auto failed_at = core::now_ms() - 2000ms;
  events::ConsumedRecord original;
  original.topic = system.kafka().topic("payment.completed");
  original.partition = 0;
  original.offset = 1;
  original.timestamp_ms = core::to_unix_ms(failed_at) - 1000;
  original.key = key;
  original.value = R"({"id":")" + key + R"("})";
  original.headers = {{"ce_id", core::new_uuid_v7()}, {"ce_type", "payment.completed"}};
  return events::dead_letter_record(original, events::Outcome::retry("paypipe.test.Down", "down"), group,
                                    system.kafka().topic(events::dlq_topic(group)), 1, failed_at);
}

// Polls until a quarter of a second brings nothing new.
std::size_t drain(testing::TopicReader& reader) {
  auto before = reader.seen().size();
  for (;;) {
    const auto after = reader.poll_for(250ms).size();
    if (after == before) return after;
    before = after;
  }
}

}  // namespace

TEST_CASE("dlq-retrier killed mid-transaction: a replacement under another hostname fences it at once") {
  testing::System system;
  const std::string group = "notification-sender";
  const auto retry_topic = system.kafka().topic(events::retry_topic(group));
  auto producer = events::Producer::create(system.kafka()).value();
  std::set<std::string> expected;
  for (int i = 0; i < 4000; ++i) {
    auto record = dead_letter(system, group, "order-" + std::to_string(i));
    expected.insert(*events::find_header(record.headers, "ce_id"));
    const auto sent = producer->send(std::move(record), nullptr);
    REQUIRE(sent.ok());
  }
  REQUIRE(producer->flush(10s).ok());

  auto uncommitted = system.kafka();
  uncommitted.properties["isolation.level"] = "read_uncommitted";
  testing::TopicReader raw(uncommitted, retry_topic);
  testing::TopicReader committed(system.kafka(), retry_topic);

  testing::Daemon first(system, "dlq-retrier", retrier_env("dlq-retrier-7c9f-abcde"));
  first.wait_ready();
  // Freeze it at random moments until records of an open transaction are in the log:
  // the uncommitted reader then sees more than the committed one.
  std::mt19937 random(std::random_device{}());
  bool open_transaction = false;
  for (int attempt = 0; attempt < 60 && !open_transaction; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 80)(random)));
    first.pause();
    const auto logged = drain(raw);
    const auto visible = drain(committed);
    open_transaction = logged > visible;
    if (!open_transaction) first.resume();
    REQUIRE(visible < expected.size());  // still work left for the replacement
  }
  REQUIRE(open_transaction);
  WARN("killed with " << raw.seen().size() - committed.seen().size() << " records in its open transaction, "
                      << committed.seen().size() << " committed");
  first.kill();
  const auto killed_at = Clock::now();

  // The replacement: a new pod, a new name.
  testing::Daemon second(system, "dlq-retrier", retrier_env("dlq-retrier-7c9f-fghij"));
  second.wait_ready();
  std::set<std::string> seen_ids;
  auto all_seen = [&] {
    committed.poll_for(200ms);
    seen_ids.clear();
    for (const auto& s : committed.seen()) seen_ids.insert(*events::find_header(s.record.headers, "ce_id"));
    return seen_ids.size() == expected.size();
  };
  // Within 30 s of the kill, against a 120 s transaction timeout: the open transaction
  // was aborted by the replacement's fencing, not by the coordinator's timeout.
  const bool done = testing::eventually(all_seen, 30s, 10ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at);
  INFO("after the kill: " << took.count() << " ms, " << seen_ids.size() << " of " << expected.size() << " visible");
  REQUIRE(done);
  WARN("all visible " << took.count() << " ms after the kill");
  CHECK(seen_ids == expected);
  CHECK(committed.seen().size() == expected.size());  // each once in the committed view
  CHECK(second.stop() == 0);
}

TEST_CASE("dlq-retrier whose slot connection is lost: a replica that takes the slot fences it, and it exits 70") {
  testing::System system;
  const std::string group = "notification-sender";
  const auto retry_topic = system.kafka().topic(events::retry_topic(group));
  testing::TopicReader committed(system.kafka(), retry_topic);

  testing::Daemon first(system, "dlq-retrier", retrier_env("dlq-retrier-7c9f-abcde"));
  first.wait_ready();
  // Its slot's connection dies (as in a network cut or a database restart); the process
  // lives on. The slot is slot 0 of this system's scope: the lock's classid is the
  // scope's hash, its objid the slot.
  auto pg = testing::connect("public");
  const auto scope = system.prefix() + "dlq-retrier-";
  REQUIRE(pg.exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
                  "AND classid = hashtext($1)::oid AND objid = 0",
                  scope)
              ->size() == 1);
  // Another replica takes slot 0, and with it the id: its init fences the first.
  testing::Daemon second(system, "dlq-retrier", retrier_env("dlq-retrier-7c9f-fghij"));
  second.wait_ready();

  // Dead letters on every partition: the first's next batch fails fatally (fenced).
  auto producer = events::Producer::create(system.kafka()).value();
  std::set<std::string> expected;
  for (int i = 0; i < 60; ++i) {
    auto record = dead_letter(system, group, "order-" + std::to_string(i));
    expected.insert(*events::find_header(record.headers, "ce_id"));
    const auto sent = producer->send(std::move(record), nullptr);
    REQUIRE(sent.ok());
  }
  REQUIRE(producer->flush(10s).ok());
  REQUIRE(testing::eventually([&] { return !first.running(); }, 30s));
  CHECK(first.exit_code() == 70);
  CHECK(second.running());

  // The second carries on: every record once, in the committed view.
  REQUIRE(testing::eventually([&] { return committed.poll_for(200ms).size() >= expected.size(); }, 40s, 10ms));
  committed.poll_for(1s);
  std::set<std::string> seen_ids;
  for (const auto& s : committed.seen()) seen_ids.insert(*events::find_header(s.record.headers, "ce_id"));
  CHECK(seen_ids == expected);
  CHECK(committed.seen().size() == expected.size());
  CHECK(second.stop() == 0);
}
