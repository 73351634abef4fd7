#include "events/kafka.hpp"

#include <spdlog/spdlog.h>

namespace paypipe::events {

namespace {

void log_line(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug
  if (level <= 3) {
    spdlog::error("librdkafka {}: {}", facility, message);
  } else if (level == 4) {
    spdlog::warn("librdkafka {}: {}", facility, message);
  } else if (level <= 6) {
    spdlog::info("librdkafka {}: {}", facility, message);
  } else {
    spdlog::debug("librdkafka {}: {}", facility, message);
  }
}

}  // namespace

core::Result<ConfPtr> make_conf(const KafkaOptions& options, const std::map<std::string, std::string>& defaults,
                                const std::map<std::string, std::string>& overrides) {
  ConfPtr conf(rd_kafka_conf_new());
  std::string errors;
  char message[512];
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), message, sizeof message) != RD_KAFKA_CONF_OK) {
      errors += (errors.empty() ? "" : "; ") + key + ": " + message;
    }
  };
  set("bootstrap.servers", options.bootstrap_servers);
  set("client.id", options.client_id);
  // TCP_NODELAY, as Kafka's Java clients: with Nagle a small request (a produce batch, a
  // fetch, a heartbeat) waits behind the acknowledgement of the one before it on the
  // same connection, which adds its round trip to the next record's way.
  set("socket.nagle.disable", "true");
  for (const auto& [key, value] : defaults) set(key, value);
  for (const auto& [key, value] : options.properties) set(key, value);
  for (const auto& [key, value] : overrides) set(key, value);
  if (!errors.empty()) {
    return core::make_error(core::ErrorCategory::invalid_input, "kafka-config", "bad Kafka configuration: " + errors);
  }
  return conf;
}

core::Result<HandlePtr> make_handle(rd_kafka_type_t type, ConfPtr conf, std::string_view what) {
  rd_kafka_conf_set_log_cb(conf.get(), log_line);
  char error[512];
  HandlePtr handle(rd_kafka_new(type, conf.get(), error, sizeof error));
  if (!handle) {
    return core::make_error(core::ErrorCategory::invalid_input,
                            type == RD_KAFKA_CONSUMER ? "kafka-consumer" : "kafka-producer",
                            "cannot create " + std::string(what) + ": " + error);
  }
  (void)conf.release();  // rd_kafka_new owns it now
  return handle;
}

core::Result<HandlePtr> make_consumer_handle(ConfPtr conf, std::string_view what) {
  auto handle = make_handle(RD_KAFKA_CONSUMER, std::move(conf), what);
  if (handle) rd_kafka_poll_set_consumer(handle->get());
  return handle;
}

std::string conf_get(const rd_kafka_conf_t* conf, const char* name) {
  char value[1024];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK) return {};
  return value;
}

core::Error kafka_error(rd_kafka_resp_err_t err, std::string_view context) {
  using core::ErrorCategory;
  ErrorCategory category = ErrorCategory::unavailable;  // brokers down, timeouts: retry later
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG: category = ErrorCategory::invalid_input; break;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED: category = ErrorCategory::forbidden; break;
    case RD_KAFKA_RESP_ERR__FATAL: category = ErrorCategory::internal; break;
    default: break;
  }
  return core::make_error(category, std::string("kafka-") + rd_kafka_err2name(err),
                          std::string(context) + ": " + rd_kafka_err2str(err));
}

const std::string* find_header(const KafkaHeaders& headers, std::string_view name) {
  // The last one wins, as with Kafka's Headers.lastHeader.
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->name == name) return &it->value;
  }
  return nullptr;
}

ConsumedRecord copy_record(const rd_kafka_message_t& message) {
  ConsumedRecord record;
  record.topic = rd_kafka_topic_name(message.rkt);
  record.partition = message.partition;
  record.offset = message.offset;
  rd_kafka_timestamp_type_t type;
  record.timestamp_ms = rd_kafka_message_timestamp(&message, &type);
  record.log_append_time = type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
  if (message.key) record.key.emplace(static_cast<const char*>(message.key), message.key_len);
  if (message.payload) record.value.assign(static_cast<const char*>(message.payload), message.len);
  rd_kafka_headers_t* headers = nullptr;
  // rd_kafka_message_headers takes a non-const message: it parses the headers lazily.
  auto* mutable_message = const_cast<rd_kafka_message_t*>(&message);
  if (rd_kafka_message_headers(mutable_message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      record.headers.push_back({name, value ? std::string(static_cast<const char*>(value), size) : std::string{}});
    }
  }
  return record;
}

}  // namespace paypipe::events
