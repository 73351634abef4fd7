#pragma once
// librdkafka's statistics (statistics.interval.ms, its STATISTICS.md) as gauges and
// counters, a handful an operator reads, per client handle (`client`, librdkafka's
// "<client.id>#producer-1" / "#consumer-2") and per broker where it is the broker's:
//   rdkafka_queue_messages, rdkafka_queue_bytes      msg_cnt, msg_size: records waiting
//                                                    in the client (producer: not yet sent)
//   rdkafka_sent_messages_total, rdkafka_received_messages_total   txmsgs, rxmsgs
//   rdkafka_broker_rtt_p99_seconds{broker}           brokers.*.rtt.p99
//   rdkafka_broker_outbuf_requests{broker}           brokers.*.outbuf_cnt: requests not sent
//   rdkafka_broker_waitresp_requests{broker}         brokers.*.waitresp_cnt: sent, unanswered
//   rdkafka_consumer_fetch_queue_messages            fetchq_cnt summed over the partitions
// `broker` is the broker's node id (bootstrap entries, id -1, are left out); partitions
// are summed so the series stay few. A client's series go when it is closed
// (forget_statistics), so a replaced client leaves no stale value behind.

#include <string_view>

#include "core/error.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

// Turns the statistics on in `conf` for a client that serves its callbacks (a producer
// polling, a consumer): every options.statistics_interval (0: off), unless
// options.properties sets statistics.interval.ms itself.
core::Status enable_statistics(rd_kafka_conf_t* conf, const KafkaOptions& options);

// Maps one statistics document to the metrics above; a document that does not parse is
// an error and changes nothing.
core::Status record_statistics(std::string_view json);

// Removes the series of the client named `client` (rd_kafka_name) and ignores its later
// documents: call when the client is closed.
void forget_statistics(std::string_view client);

}  // namespace paypipe::events
