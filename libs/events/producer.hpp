#pragma once
// The idempotent Kafka producer (enable.idempotence=true, acks=all) with delivery
// reports. One per process is enough; it is thread-safe.
//
// send() copies the key, value and headers (the caller's buffers may go away at once)
// and reports the outcome exactly once through the callback, on the producer's own
// poll thread: callbacks must be quick and must not block. If send() itself returns an
// error the callback is never called.
//
// A fatal error (the idempotence guarantee can no longer be kept) calls on_fatal; the
// daemons' default ends the process so Kubernetes restarts it: nothing is dropped
// silently.

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "core/error.hpp"
#include "events/envelope.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

struct ProducerSettings {
  std::chrono::milliseconds linger{2};
  // How long librdkafka keeps retrying a record before reporting it failed.
  std::chrono::milliseconds delivery_timeout{30000};
  std::size_t queue_max_kbytes = 16 * 1024;
  std::function<void(const core::Error&)> on_fatal;
};

struct OutgoingRecord {
  std::string topic;  // full name, prefix included
  std::optional<std::string> key;  // nullopt: a null key
  std::string value;
  KafkaHeaders headers;
};

struct Delivery {
  core::Status status;
  // A failed delivery whose record may be in the log all the same (it was sent, then
  // the acknowledgement timed out or was lost): its outcome is unknown, not "not written".
  bool possibly_persisted = false;
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

using DeliveryCallback = std::function<void(const Delivery&)>;

class Producer {
 public:
  static core::Result<std::unique_ptr<Producer>> create(const KafkaOptions& options, ProducerSettings settings = {});
  ~Producer();  // flushes for up to 5 s, then stops its poll thread
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues a record. Errors: unavailable when the local queue stays full for 1 s,
  // internal after a fatal error.
  core::Status send(OutgoingRecord record, DeliveryCallback on_delivery);

  // send() and wait for the broker's acknowledgement (or the timeout).
  core::Status send_and_wait(OutgoingRecord record, std::chrono::milliseconds timeout);

  // Validates the event against its schema, then sends it to options.topic(topic_of(event.type))
  // with the CloudEvents headers.
  core::Status send_event(const Event& event, DeliveryCallback on_delivery);

  // Waits until every queued record is acknowledged or failed.
  core::Status flush(std::chrono::milliseconds timeout);

  // Asks the cluster for metadata: reachability for /readyz.
  core::Status ping(std::chrono::milliseconds timeout);

  bool failed() const { return failed_.load(); }
  // A property of the effective configuration (tests, durability check).
  std::string config(const char* name) const;
  const KafkaOptions& options() const { return options_; }

 private:
  Producer(KafkaOptions options, ProducerSettings settings);
  static void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void*);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);

  KafkaOptions options_;
  ProducerSettings settings_;
  ConfPtr conf_copy_;
  HandlePtr handle_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  std::thread poller_;
};

}  // namespace paypipe::events
