#include "events/kafka_stats.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <set>

#include "core/json.hpp"
#include "core/metrics.hpp"

namespace paypipe::events {

namespace {

struct StatisticsMetrics {
  prometheus::Family<prometheus::Gauge>& queue_messages;
  prometheus::Family<prometheus::Gauge>& queue_bytes;
  prometheus::Family<prometheus::Counter>& sent;
  prometheus::Family<prometheus::Counter>& received;
  prometheus::Family<prometheus::Gauge>& rtt_p99;
  prometheus::Family<prometheus::Gauge>& outbuf;
  prometheus::Family<prometheus::Gauge>& waitresp;
  prometheus::Family<prometheus::Gauge>& fetch_queue;
  // Under mutex: librdkafka reports totals, the counters advance by the difference since
  // the last document of the same client; the brokers each client has series for; the
  // clients closed (names are never reused within a process).
  std::mutex mutex;
  std::map<std::string, std::pair<double, double>> last_totals;
  std::map<std::string, std::set<std::string>> brokers_of;
  std::set<std::string> forgotten;

  static StatisticsMetrics& get() {
    auto& r = core::metrics::registry();
    static StatisticsMetrics m{
        prometheus::BuildGauge()
            .Name("rdkafka_queue_messages")
            .Help("Records waiting in the Kafka client's queues (librdkafka msg_cnt)")
            .Register(r),
        prometheus::BuildGauge()
            .Name("rdkafka_queue_bytes")
            .Help("Bytes of the records waiting in the Kafka client's queues (librdkafka msg_size)")
            .Register(r),
        prometheus::BuildCounter()
            .Name("rdkafka_sent_messages_total")
            .Help("Records the Kafka client sent to brokers (librdkafka txmsgs)")
            .Register(r),
        prometheus::BuildCounter()
            .Name("rdkafka_received_messages_total")
            .Help("Records the Kafka client received from brokers (librdkafka rxmsgs)")
            .Register(r),
        prometheus::BuildGauge()
            .Name("rdkafka_broker_rtt_p99_seconds")
            .Help("Broker round-trip time, 99th percentile over the last statistics interval")
            .Register(r),
        prometheus::BuildGauge()
            .Name("rdkafka_broker_outbuf_requests")
            .Help("Requests waiting to be sent to the broker (librdkafka outbuf_cnt)")
            .Register(r),
        prometheus::BuildGauge()
            .Name("rdkafka_broker_waitresp_requests")
            .Help("Requests sent to the broker and not answered yet (librdkafka waitresp_cnt)")
            .Register(r),
        prometheus::BuildGauge()
            .Name("rdkafka_consumer_fetch_queue_messages")
            .Help("Records fetched and not yet consumed, over the consumer's partitions (librdkafka fetchq_cnt)")
            .Register(r),
        {},
        {},
        {},
        {},
    };
    return m;
  }
};

double number(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return 0;
  const auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsNumber() ? it->value.GetDouble() : 0;
}

int on_statistics(rd_kafka_t*, char* json, size_t json_len, void*) {
  if (auto recorded = record_statistics(std::string_view(json, json_len)); !recorded) {
    spdlog::warn("librdkafka statistics not recorded: {}", recorded.error().message);
  }
  return 0;  // librdkafka frees the document
}

}  // namespace

core::Status enable_statistics(rd_kafka_conf_t* conf, const KafkaOptions& options) {
  if (!options.properties.count("statistics.interval.ms")) {
    char message[512];
    const auto interval = std::to_string(options.statistics_interval.count());
    if (rd_kafka_conf_set(conf, "statistics.interval.ms", interval.c_str(), message, sizeof message) !=
        RD_KAFKA_CONF_OK) {
      return core::make_error(core::ErrorCategory::invalid_input, "kafka-config",
                              std::string("bad Kafka configuration: statistics.interval.ms: ") + message);
    }
  }
  rd_kafka_conf_set_stats_cb(conf, on_statistics);
  return {};
}

core::Status record_statistics(std::string_view json) {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  if (!doc->IsObject() || !doc->HasMember("name") || !(*doc)["name"].IsString()) {
    return core::make_error(core::ErrorCategory::invalid_input, "kafka-statistics", "no client name in the statistics");
  }
  auto& m = StatisticsMetrics::get();
  const std::string client = (*doc)["name"].GetString();
  const prometheus::Labels labels{{"client", client}};
  std::lock_guard lock(m.mutex);
  if (m.forgotten.count(client)) return {};  // a last document from a client being closed
  m.queue_messages.Add(labels).Set(number(*doc, "msg_cnt"));
  m.queue_bytes.Add(labels).Set(number(*doc, "msg_size"));
  {
    auto& [sent, received] = m.last_totals[client];
    const double sent_now = number(*doc, "txmsgs");
    const double received_now = number(*doc, "rxmsgs");
    if (sent_now > sent) m.sent.Add(labels).Increment(sent_now - sent);
    if (received_now > received) m.received.Add(labels).Increment(received_now - received);
    (void)m.sent.Add(labels);
    (void)m.received.Add(labels);
    sent = sent_now;
    received = received_now;
  }
  // Const throughout: comparing a const with a non-const member iterator is ambiguous in
  // C++20 (clang refuses it).
  const rapidjson::Value& root = *doc;
  if (const auto brokers = root.FindMember("brokers"); brokers != root.MemberEnd() && brokers->value.IsObject()) {
    for (const auto& broker : brokers->value.GetObject()) {
      const double node = number(broker.value, "nodeid");
      if (node < 0) continue;  // a bootstrap address, not a broker yet
      const std::string id = std::to_string(static_cast<long>(node));
      const prometheus::Labels per_broker{{"client", client}, {"broker", id}};
      m.brokers_of[client].insert(id);
      const auto rtt = broker.value.FindMember("rtt");
      if (rtt != broker.value.MemberEnd()) m.rtt_p99.Add(per_broker).Set(number(rtt->value, "p99") / 1e6);  // µs
      m.outbuf.Add(per_broker).Set(number(broker.value, "outbuf_cnt"));
      m.waitresp.Add(per_broker).Set(number(broker.value, "waitresp_cnt"));
    }
  }
  if (const auto type = root.FindMember("type");
      type != root.MemberEnd() && type->value.IsString() && std::string_view(type->value.GetString()) == "consumer") {
    double fetch_queue = 0;
    if (const auto topics = root.FindMember("topics"); topics != root.MemberEnd() && topics->value.IsObject()) {
      for (const auto& topic : topics->value.GetObject()) {
        const auto partitions = topic.value.FindMember("partitions");
        if (partitions == topic.value.MemberEnd() || !partitions->value.IsObject()) continue;
        for (const auto& partition : partitions->value.GetObject()) {
          if (number(partition.value, "partition") < 0) continue;  // -1: the unassigned partition's entry
          fetch_queue += number(partition.value, "fetchq_cnt");
        }
      }
    }
    m.fetch_queue.Add(labels).Set(fetch_queue);
  }
  return {};
}

void forget_statistics(std::string_view name) {
  auto& m = StatisticsMetrics::get();
  const std::string client(name);
  const prometheus::Labels labels{{"client", client}};
  std::lock_guard lock(m.mutex);
  m.forgotten.insert(client);
  auto remove = [](auto& family, const prometheus::Labels& l) {
    if (family.Has(l)) family.Remove(&family.Add(l));
  };
  for (auto* family : {&m.queue_messages, &m.queue_bytes, &m.fetch_queue}) remove(*family, labels);
  for (auto* family : {&m.sent, &m.received}) remove(*family, labels);
  for (const auto& broker : m.brokers_of[client]) {
    const prometheus::Labels per_broker{{"client", client}, {"broker", broker}};
    for (auto* family : {&m.rtt_p99, &m.outbuf, &m.waitresp}) remove(*family, per_broker);
  }
  m.brokers_of.erase(client);
  m.last_totals.erase(client);
}

}  // namespace paypipe::events
