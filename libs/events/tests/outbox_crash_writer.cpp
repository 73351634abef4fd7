// A writer for the outbox's kill -9 test (outbox_test.cpp): writes rounds of
// payment.completed events, one per key and round (amount = round + 1, so a reader can
// tell the order they were written in), each round in its own transaction, with a relay
// whose fast path is on; prints "committed <round>" after each COMMIT, and after the
// last round waits to be killed.
//
//   outbox_crash_writer <pg dsn> <schema> <kafka bootstrap> <topic prefix> <first round> <rounds> <keys>

#include <cstdio>
#include <string>
#include <thread>

#include "core/json.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "events/outbox.hpp"

using namespace paypipe;

namespace {

// Key number k as the UUID the orderId field needs (the same in the test).
std::string key_of(int k) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "00000000-0000-4000-8000-%012d", k);
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s <pg dsn> <schema> <bootstrap> <topic prefix> <first round> <rounds> <keys>\n",
                 argv[0]);
    return 2;
  }
  pg::ConnectOptions pg_options;
  pg_options.dsn = argv[1];
  pg_options.schema = argv[2];
  events::KafkaOptions kafka;
  kafka.bootstrap_servers = argv[3];
  kafka.topic_prefix = argv[4];
  kafka.client_id = "outbox-crash-writer";
  const int first = std::stoi(argv[5]);
  const int rounds = std::stoi(argv[6]);
  const int keys = std::stoi(argv[7]);

  auto connection = pg::Connection::connect(pg_options);
  auto producer = events::Producer::create(kafka);
  if (!connection || !producer) {
    std::fprintf(stderr, "cannot connect\n");
    return 1;
  }
  events::RelaySettings settings;
  settings.schema = pg_options.schema;
  settings.poll_interval = std::chrono::milliseconds(100);
  settings.ack_timeout = std::chrono::milliseconds(5000);
  events::OutboxRelay relay(pg_options, **producer, settings);
  relay.start();
  for (int round = first; round < first + rounds; ++round) {
    auto tx = pg::Transaction::begin(*connection);
    if (!tx) return 1;
    std::vector<events::Event> written;
    for (int key = 0; key < keys; ++key) {
      core::json::Writer w;
      w.begin_object()
          .field("paymentId", core::new_uuid_v7())
          .field("orderId", key_of(key))
          .field("userId", "user-1")
          .field("amount", static_cast<std::int64_t>(round + 1))
          .field("currency", "KRW")
          .field("completedAt", core::now_rfc3339())
          .end_object();
      written.push_back(events::make_event("payment.completed", "/paypipe/test", key_of(key), w.take()));
    }
    auto insert = events::OutboxInsert::prepare(std::move(written), "payment");
    if (!insert || !std::move(insert).value().run(*tx) || !tx->commit()) {
      std::fprintf(stderr, "round %d failed\n", round);
      return 1;
    }
    std::printf("committed %d\n", round);
    std::fflush(stdout);
  }
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
