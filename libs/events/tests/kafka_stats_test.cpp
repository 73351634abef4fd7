// librdkafka's statistics document -> metrics (events/kafka_stats.hpp), without a broker:
// documents in librdkafka 2.0's shape (STATISTICS.md), trimmed to a few fields around the
// ones mapped.
#include "events/kafka_stats.hpp"

#include <catch2/catch.hpp>

#include "support/metrics.hpp"

using namespace paypipe;

namespace {

// A consumer's, two statistics intervals apart: one broker known by its bootstrap
// address only (nodeid -1), one real; two partitions assigned plus librdkafka's
// "-1" entry of the topic.
std::string consumer_document(int txmsgs, int rxmsgs, int fetchq0) {
  return R"({"name":"stats-test#consumer-7","client_id":"stats-test","type":"consumer","ts":5616143574,
  "time":1764888000,"age":15002311,"replyq":0,"msg_cnt":12,"msg_size":3456,"msg_max":100000,
  "msg_size_max":1073741824,"simple_cnt":0,"metadata_cache_cnt":1,
  "brokers":{
    "127.0.0.1:9092/bootstrap":{"name":"127.0.0.1:9092/bootstrap","nodeid":-1,"nodename":"127.0.0.1:9092",
      "source":"configured","state":"UP","outbuf_cnt":0,"waitresp_cnt":0,
      "rtt":{"min":0,"max":0,"avg":0,"sum":0,"cnt":0,"p50":0,"p95":0,"p99":0}},
    "127.0.0.1:9092/1":{"name":"127.0.0.1:9092/1","nodeid":1,"nodename":"127.0.0.1:9092","source":"learned",
      "state":"UP","stateage":14000311,"outbuf_cnt":2,"outbuf_msg_cnt":0,"waitresp_cnt":3,"waitresp_msg_cnt":0,
      "tx":120,"txbytes":9000,"rx":119,"rxbytes":20000,
      "rtt":{"min":180,"max":502000,"avg":2100,"sum":250000,"stddev":9000,"p50":1000,"p75":1200,"p90":2000,
             "p95":3000,"p99":250000,"p99_99":502000,"outofrange":0,"hdrsize":11376,"cnt":119},
      "toppars":{"orders-0":{"topic":"orders","partition":0}}}},
  "topics":{"orders":{"topic":"orders","age":15000,"metadata_age":9000,"partitions":{
    "0":{"partition":0,"broker":1,"leader":1,"msgq_cnt":0,"fetchq_cnt":)" +
         std::to_string(fetchq0) + R"(,"fetchq_size":800,"fetch_state":"active","consumer_lag":40},
    "1":{"partition":1,"broker":1,"leader":1,"msgq_cnt":0,"fetchq_cnt":5,"fetchq_size":500,"fetch_state":"active"},
    "-1":{"partition":-1,"broker":-1,"leader":-1,"msgq_cnt":0,"fetchq_cnt":99,"fetchq_size":0}}}},
  "cgrp":{"state":"up","stateage":14000,"join_state":"steady","rebalance_age":13000,"rebalance_cnt":1,
          "assignment_size":2},
  "tx":120,"tx_bytes":9000,"rx":119,"rx_bytes":20000,"txmsgs":)" +
         std::to_string(txmsgs) + R"(,"txmsg_bytes":0,"rxmsgs":)" + std::to_string(rxmsgs) +
         R"(,"rxmsg_bytes":100000})";
}

double value(const std::string& name, const prometheus::Labels& labels) {
  return testing::metric_value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("a consumer's statistics become per-client, per-broker and summed-partition metrics") {
  REQUIRE(events::record_statistics(consumer_document(0, 400, 10)).ok());
  const prometheus::Labels client{{"client", "stats-test#consumer-7"}};
  const prometheus::Labels broker{{"client", "stats-test#consumer-7"}, {"broker", "1"}};
  CHECK(value("rdkafka_queue_messages", client) == 12);
  CHECK(value("rdkafka_queue_bytes", client) == 3456);
  CHECK(value("rdkafka_received_messages_total", client) == 400);
  CHECK(value("rdkafka_sent_messages_total", client) == 0);
  CHECK(value("rdkafka_broker_rtt_p99_seconds", broker) == Approx(0.25));  // 250000 µs
  CHECK(value("rdkafka_broker_outbuf_requests", broker) == 2);
  CHECK(value("rdkafka_broker_waitresp_requests", broker) == 3);
  CHECK(value("rdkafka_consumer_fetch_queue_messages", client) == 15);  // partitions 0 and 1, not -1
  // The bootstrap entry is no broker: no series for it.
  CHECK_FALSE(testing::metric_value("rdkafka_broker_outbuf_requests", {{"broker", "-1"}}).has_value());

  // The next interval: librdkafka's totals grew, the counter follows them.
  REQUIRE(events::record_statistics(consumer_document(0, 1000, 0)).ok());
  CHECK(value("rdkafka_received_messages_total", client) == 1000);
  CHECK(value("rdkafka_consumer_fetch_queue_messages", client) == 5);

  // Closed: its series go, and a late document does not bring them back.
  events::forget_statistics("stats-test#consumer-7");
  REQUIRE(events::record_statistics(consumer_document(0, 1200, 0)).ok());
  for (const char* name :
       {"rdkafka_queue_messages", "rdkafka_received_messages_total", "rdkafka_consumer_fetch_queue_messages"}) {
    CHECK_FALSE(testing::metric_value(name, client).has_value());
  }
  CHECK_FALSE(testing::metric_value("rdkafka_broker_rtt_p99_seconds", broker).has_value());
}

TEST_CASE("a producer's statistics have no fetch queue; a bad document changes nothing") {
  const std::string producer =
      R"({"name":"stats-test#producer-3","client_id":"stats-test","type":"producer","msg_cnt":7,"msg_size":700,
          "txmsgs":250,"rxmsgs":0,"brokers":{},"topics":{}})";
  REQUIRE(events::record_statistics(producer).ok());
  const prometheus::Labels client{{"client", "stats-test#producer-3"}};
  CHECK(value("rdkafka_queue_messages", client) == 7);
  CHECK(value("rdkafka_sent_messages_total", client) == 250);
  CHECK_FALSE(testing::metric_value("rdkafka_consumer_fetch_queue_messages", client).has_value());

  CHECK_FALSE(events::record_statistics("{not json").ok());
  CHECK_FALSE(events::record_statistics(R"({"msg_cnt":1})").ok());  // whose?
  CHECK(value("rdkafka_queue_messages", client) == 7);
}
