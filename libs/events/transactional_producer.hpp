#pragma once
// A transactional Kafka producer (librdkafka's transactions, KIP-98 / KIP-447) for
// consume-transform-produce loops: the records a loop produces and the consumer
// offsets it has finished become visible together, or not at all.
//
//   producer->init(timeout);                     // once: fences older instances with the same id
//   producer->begin();
//   producer->send(record) ...;                  // copied; failures surface at commit
//   producer->send_offsets(consumer, next_offsets, timeout);
//   producer->commit(timeout);                   // or abort(timeout)
//
// Readers with isolation.level=read_committed (librdkafka's default, so every consumer
// of ours) never see the records of an aborted transaction, nor those of a transaction
// left open by a process that died: the next instance with the same transactional.id
// aborts it in init(), and the coordinator aborts it after transaction.timeout.ms anyway.
//
// Errors (core::Error codes):
//   kafka-txn-abort   the transaction cannot commit; call abort() and redo its work
//   kafka-txn-fatal   the producer is unusable (fenced by a newer instance with the same
//                     transactional.id, or a fatal broker answer); category internal.
//                     Destroy it; the daemons exit so Kubernetes restarts them.
//   other codes       unavailable (a timeout): the call may be repeated.
// Retriable errors are retried inside the calls until their timeout.
//
// Threading: one thread drives a transaction (begin .. commit/abort); the class is not
// meant to be shared between threads.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "events/consumer.hpp"
#include "events/kafka.hpp"
#include "events/producer.hpp"

namespace paypipe::events {

struct TransactionalSettings {
  // Stable across restarts of one instance, unique among live instances: a restarted
  // instance then aborts what its predecessor left open at once.
  std::string transactional_id;
  // The coordinator aborts a transaction left open longer than this.
  std::chrono::milliseconds transaction_timeout{30000};
  std::chrono::milliseconds linger{5};
};

class TransactionalProducer {
 public:
  // Creates the producer (no broker call yet). invalid_input for bad settings.
  static core::Result<std::unique_ptr<TransactionalProducer>> create(const KafkaOptions& options,
                                                                     TransactionalSettings settings);
  // Aborts an open transaction (bounded by a few seconds), then closes.
  ~TransactionalProducer();
  TransactionalProducer(const TransactionalProducer&) = delete;
  TransactionalProducer& operator=(const TransactionalProducer&) = delete;

  // Registers the transactional.id with the coordinator: completes or aborts what an
  // older instance with the same id left open, and fences that instance.
  core::Status init(std::chrono::milliseconds timeout);
  core::Status begin();
  // Queues a record in the open transaction; copies key, value and headers.
  core::Status send(const OutgoingRecord& record);
  // Makes `next_offsets` (per partition: the offset of the first record NOT done) the
  // group's committed offsets when the transaction commits. The group is the
  // consumer's; its current generation fences a member that lost the partitions.
  core::Status send_offsets(const KafkaConsumer& consumer, const std::map<TopicPartition, std::int64_t>& next_offsets,
                            std::chrono::milliseconds timeout);
  // Delivers every record of the transaction and commits it with its offsets.
  core::Status commit(std::chrono::milliseconds timeout);
  core::Status abort(std::chrono::milliseconds timeout);

  bool in_transaction() const { return in_transaction_; }
  // A fatal error happened: the producer cannot be used any more.
  bool failed() const { return failed_; }
  // A property of the effective configuration (tests, durability check).
  std::string config(const char* name) const;
  const KafkaOptions& options() const { return options_; }

 private:
  TransactionalProducer(KafkaOptions options, TransactionalSettings settings);
  core::Error error_of(rd_kafka_error_t* error, std::string_view context);
  // Calls `call` (given the milliseconds left) again after `pause` while librdkafka calls
  // its error retriable, until `timeout`: what its transactional calls ask of a caller.
  core::Status until_done(std::string_view context, std::chrono::milliseconds timeout, std::chrono::milliseconds pause,
                          const std::function<rd_kafka_error_t*(int timeout_ms)>& call);

  KafkaOptions options_;
  TransactionalSettings settings_;
  ConfPtr conf_copy_;
  HandlePtr handle_;
  bool initialised_ = false;
  bool in_transaction_ = false;
  bool failed_ = false;
};

}  // namespace paypipe::events
