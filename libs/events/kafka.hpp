#pragma once
// Owning wrappers over librdkafka handles and the configuration every client shares.
// Only libs/events includes librdkafka; services never see a raw handle.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "events/naming.hpp"
#include "events/spring_interop.hpp"

namespace paypipe::events {

// Where the brokers are and how to reach them; shared by producers, consumers, admin.
struct KafkaOptions {
  std::string bootstrap_servers;
  // librdkafka properties passed through as they are (security.protocol, sasl.*, ssl.*,
  // tuning); applied after our defaults, so they may override them.
  std::map<std::string, std::string> properties;
  std::string client_id = "paypipe";
  // Prepended to every topic and group name: lets tests share one broker.
  std::string topic_prefix;
  // Logical topic and group names to the broker's (events/naming.hpp).
  Naming naming;
  // librdkafka's statistics for producers and consumers, mapped to metrics
  // (events/kafka_stats.hpp); 0 turns them off.
  std::chrono::milliseconds statistics_interval{15000};
  // Plain-JSON topics read and Spring type ids written (events/spring_interop.hpp).
  SpringInterop interop;

  // The full name of a logical topic or group: mapped, then prefixed.
  std::string topic(std::string_view logical) const { return topic_prefix + naming.topic(logical); }
  std::string group(std::string_view logical) const { return topic_prefix + naming.group(logical); }
};

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// A configuration holding: our defaults for `role`, then options.properties, then
// `overrides` (the settings a component cannot work without). Every rejected
// property is named in the error.
core::Result<ConfPtr> make_conf(const KafkaOptions& options, const std::map<std::string, std::string>& defaults,
                                const std::map<std::string, std::string>& overrides);

// A client handle made from `conf`, which it takes over: librdkafka owns the configuration
// once the handle exists, and it is freed here when rd_kafka_new refuses it. librdkafka's
// log lines go to spdlog. invalid_input ("kafka-consumer" or "kafka-producer") naming
// `what` ("the Kafka consumer") when librdkafka refuses the configuration.
core::Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf, std::string_view what);
// A consumer's handle (make_handle) whose one queue carries records, rebalances, errors
// and logs (rd_kafka_poll_set_consumer).
core::Result<HandlePtr> make_consumer_handle(ConfPtr conf, std::string_view what);

// Reads a property back from a configuration (for tests and the durability check).
std::string conf_get(const rd_kafka_conf_t* conf, const char* name);

core::Error kafka_error(rd_kafka_resp_err_t err, std::string_view context);

// One Kafka record header. Values are bytes (Spring's DLT headers are binary).
struct KafkaHeader {
  std::string name;
  std::string value;
};

using KafkaHeaders = std::vector<KafkaHeader>;

const std::string* find_header(const KafkaHeaders& headers, std::string_view name);

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// A record as read from Kafka, copied out of librdkafka's buffers.
struct ConsumedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  bool log_append_time = false;  // the broker set the timestamp (LogAppendTime), not the producer (CreateTime)
  std::optional<std::string> key;  // nullopt: a null key
  std::string value;
  KafkaHeaders headers;

  TopicPartition topic_partition() const { return {topic, partition}; }
};

// Copies a record (no error set) out of librdkafka's buffers.
ConsumedRecord copy_record(const rd_kafka_message_t& message);

}  // namespace paypipe::events
