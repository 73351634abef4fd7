#include "events/producer.hpp"

#include <spdlog/spdlog.h>

#include <future>

#include "core/metrics.hpp"
#include "events/event_types.hpp"
#include "events/kafka_stats.hpp"
#include "events/schemas.hpp"

namespace paypipe::events {

namespace {

// One hop of an event's way: the producer's send() to the broker's acknowledgement
// (linger, the request, the broker's append and acks=all).
prometheus::Histogram& ack_seconds() {
  static auto& histogram = prometheus::BuildHistogram()
                               .Name("kafka_produce_ack_seconds")
                               .Help("From a record handed to the producer to the broker's acknowledgement")
                               .Register(core::metrics::registry())
                               .Add({}, core::metrics::hop_buckets());
  return histogram;
}

// What a queued record carries to its delivery report.
struct Pending {
  DeliveryCallback callback;
  std::chrono::steady_clock::time_point sent = std::chrono::steady_clock::now();
};

}  // namespace

Producer::Producer(KafkaOptions options, ProducerSettings settings)
    : options_(std::move(options)), settings_(std::move(settings)) {}

core::Result<std::unique_ptr<Producer>> Producer::create(const KafkaOptions& options, ProducerSettings settings) {
  (void)ack_seconds();  // /metrics shows it before the first record
  std::unique_ptr<Producer> producer(new Producer(options, std::move(settings)));
  auto conf = make_conf(options,
                        {
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                            {"linger.ms", std::to_string(producer->settings_.linger.count())},
                            {"message.timeout.ms", std::to_string(producer->settings_.delivery_timeout.count())},
                            {"queue.buffering.max.kbytes", std::to_string(producer->settings_.queue_max_kbytes)},
                            {"compression.type", "lz4"},
                            {"socket.keepalive.enable", "true"},
                        },
                        {});
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::on_delivery_report);
  rd_kafka_conf_set_error_cb(conf->get(), &Producer::on_error);
  if (auto statistics = enable_statistics(conf->get(), options); !statistics) return statistics.error();
  rd_kafka_conf_set_opaque(conf->get(), producer.get());
  producer->conf_copy_.reset(rd_kafka_conf_dup(conf->get()));
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "the Kafka producer");
  if (!handle) return handle.error();
  producer->handle_ = std::move(*handle);
  Producer* self = producer.get();
  producer->poller_ = std::thread([self] {
    pthread_setname_np(pthread_self(), "kafka-producer");
    while (!self->stopping_) rd_kafka_poll(self->handle_.get(), 100);
  });
  return producer;
}

Producer::~Producer() {
  if (handle_) {
    const auto status = flush(std::chrono::milliseconds(5000));
    if (!status) spdlog::warn("producer closed with records unacknowledged: {}", status.error().message);
  }
  stopping_ = true;
  if (poller_.joinable()) poller_.join();
  if (handle_) rd_kafka_poll(handle_.get(), 0);  // last delivery reports
  if (handle_) forget_statistics(rd_kafka_name(handle_.get()));
}

std::string Producer::config(const char* name) const { return conf_get(conf_copy_.get(), name); }

void Producer::on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(message->_private));
  if (!pending) return;
  if (!message->err) {
    ack_seconds().Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - pending->sent).count());
  }
  if (!pending->callback) return;
  Delivery delivery;
  delivery.topic = rd_kafka_topic_name(message->rkt);
  delivery.partition = message->partition;
  delivery.offset = message->offset;
  if (message->err) {
    delivery.status = kafka_error(message->err, "delivery to " + delivery.topic);
    // librdkafka knows whether the record ever left for the broker.
    delivery.possibly_persisted = rd_kafka_message_status(const_cast<rd_kafka_message_t*>(message)) !=
                                  RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
  }
  pending->callback(delivery);
}

void Producer::on_error(rd_kafka_t* handle, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512];
    const auto original = rd_kafka_fatal_error(handle, detail, sizeof detail);
    const auto error = core::make_error(
        core::ErrorCategory::internal, "kafka-fatal",
        std::string("fatal producer error ") + rd_kafka_err2name(original) + ": " + detail);
    spdlog::critical("{}", error.message);
    self->failed_ = true;
    if (self->settings_.on_fatal) self->settings_.on_fatal(error);
    return;
  }
  // Transient: brokers down or restarting. librdkafka retries by itself.
  spdlog::warn("Kafka producer: {} ({})", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

core::Status Producer::send(OutgoingRecord record, DeliveryCallback on_delivery) {
  if (failed_) {
    return core::make_error(core::ErrorCategory::internal, "kafka-fatal", "the producer has failed fatally");
  }
  HeadersPtr headers(rd_kafka_headers_new(record.headers.size()));
  for (const auto& h : record.headers) {
    rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                        static_cast<ssize_t>(h.value.size()));
  }
  auto pending = std::make_unique<Pending>();
  pending->callback = std::move(on_delivery);
  const void* key = record.key ? record.key->data() : nullptr;  // nullptr: a null key
  const std::size_t key_size = record.key ? record.key->size() : 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    const auto err = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE(record.value.data(), record.value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // librdkafka owns the headers on success
      (void)pending.release();  // freed by on_delivery_report
      return {};
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() > deadline) {
      return kafka_error(err, "produce to " + record.topic);
    }
    rd_kafka_poll(handle_.get(), 10);  // let delivery reports free room
  }
}

core::Status Producer::send_and_wait(OutgoingRecord record, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<core::Status>>();
  auto future = promise->get_future();
  if (auto status = send(std::move(record), [promise](const Delivery& d) { promise->set_value(d.status); }); !status) {
    return status;
  }
  if (future.wait_for(timeout) != std::future_status::ready) {
    return core::make_error(core::ErrorCategory::unavailable, "kafka-ack-timeout",
                            "no acknowledgement from Kafka within " + std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

core::Status Producer::send_event(const Event& event, DeliveryCallback on_delivery) {
  const auto version = event.dataschema.empty() ? 0 : SchemaRegistry::version_of(event.dataschema);
  if (auto status = SchemaRegistry::builtin().validate(event.type, event.data, version); !status) return status;
  return send(
      OutgoingRecord{options_.topic(topic_of(event.type)), event.key, event.data, to_headers(event, options_.interop)},
      std::move(on_delivery));
}

core::Status Producer::flush(std::chrono::milliseconds timeout) {
  const auto err = rd_kafka_flush(handle_.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "flush");
  return {};
}

core::Status Producer::ping(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(handle_.get(), 0, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (metadata) rd_kafka_metadata_destroy(metadata);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "metadata request");
  return {};
}

}  // namespace paypipe::events
