#include "events/transactional_producer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "events/retry.hpp"

namespace paypipe::events {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<std::int64_t>(left, 1));
}

void on_error(rd_kafka_t*, int err, const char* reason, void*) {
  // Fatal errors also come back from the transactional calls, where they are handled.
  spdlog::warn("Kafka transactional producer: {} ({})", reason,
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

}  // namespace

TransactionalProducer::TransactionalProducer(KafkaOptions options, TransactionalSettings settings)
    : options_(std::move(options)), settings_(std::move(settings)) {}

core::Result<std::unique_ptr<TransactionalProducer>> TransactionalProducer::create(const KafkaOptions& options,
                                                                                   TransactionalSettings settings) {
  if (settings.transactional_id.empty()) {
    return core::make_error(core::ErrorCategory::invalid_input, "kafka-config", "a transactional.id is required");
  }
  std::unique_ptr<TransactionalProducer> producer(new TransactionalProducer(options, std::move(settings)));
  const auto& s = producer->settings_;
  // Records must be delivered (or fail) within the transaction's lifetime.
  const auto message_timeout = std::max<std::int64_t>(1000, s.transaction_timeout.count() - 1000);
  auto conf = make_conf(options,
                        {
                            {"linger.ms", std::to_string(s.linger.count())},
                            {"compression.type", "lz4"},
                            {"socket.keepalive.enable", "true"},
                            {"message.timeout.ms", std::to_string(message_timeout)},
                            // A transaction begun right after a commit is refused with
                            // CONCURRENT_TRANSACTIONS until the broker has written the
                            // markers; librdkafka retries after this backoff (default 100 ms,
                            // a tenth of a second lost per back-to-back transaction).
                            {"retry.backoff.ms", "10"},
                        },
                        {
                            // What makes it transactional; not overridable.
                            {"transactional.id", s.transactional_id},
                            {"transaction.timeout.ms", std::to_string(s.transaction_timeout.count())},
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                        });
  if (!conf) return conf.error();
  rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  producer->conf_copy_.reset(rd_kafka_conf_dup(conf->get()));
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "the transactional Kafka producer");
  if (!handle) return handle.error();
  producer->handle_ = std::move(*handle);
  return producer;
}

TransactionalProducer::~TransactionalProducer() {
  if (handle_ && in_transaction_ && !failed_) {
    if (auto s = abort(milliseconds(5000)); !s) spdlog::warn("abort on close: {}", s.error().message);
  }
}

std::string TransactionalProducer::config(const char* name) const { return conf_get(conf_copy_.get(), name); }

core::Error TransactionalProducer::error_of(rd_kafka_error_t* error, std::string_view context) {
  const std::string text = std::string(context) + ": " + rd_kafka_error_name(error) + ": " +
                           rd_kafka_error_string(error);
  if (rd_kafka_error_txn_requires_abort(error)) {
    return core::make_error(core::ErrorCategory::unavailable, "kafka-txn-abort", text);
  }
  if (rd_kafka_error_is_retriable(error)) {
    return core::make_error(core::ErrorCategory::unavailable, "kafka-txn-timeout", text);
  }
  // librdkafka's advice: what is neither retriable nor abortable is treated as fatal.
  failed_ = true;
  return core::make_error(core::ErrorCategory::internal, "kafka-txn-fatal", text);
}

core::Status TransactionalProducer::until_done(std::string_view context, milliseconds timeout, milliseconds pause,
                                               const std::function<rd_kafka_error_t*(int timeout_ms)>& call) {
  const auto deadline = Clock::now() + timeout;
  return retry(
      RetryPolicy::constant(0, pause, std::max(timeout, milliseconds(1))), never_stop(), [&]() -> Attempt<void> {
        ErrorPtr error(call(remaining_ms(deadline)));
        if (!error) return core::Status{};
        // A retriable error leaves the producer as it was (error_of changes state only for fatal ones).
        const bool retriable = rd_kafka_error_is_retriable(error.get());
        auto failure = error_of(error.get(), context);
        return retriable ? Attempt<void>::again(std::move(failure)) : Attempt<void>::give_up(std::move(failure));
      });
}

core::Status TransactionalProducer::init(std::chrono::milliseconds timeout) {
  if (initialised_) return {};
  // Retriable: the coordinator is not there yet, or an old transaction is finishing.
  auto status = until_done("init transactions", timeout, milliseconds(100),
                           [&](int left) { return rd_kafka_init_transactions(handle_.get(), left); });
  if (status) initialised_ = true;
  return status;
}

core::Status TransactionalProducer::begin() {
  if (!initialised_) {
    return core::make_error(core::ErrorCategory::internal, "kafka-txn-state", "begin() before init()");
  }
  ErrorPtr error(rd_kafka_begin_transaction(handle_.get()));
  if (error) return error_of(error.get(), "begin transaction");
  in_transaction_ = true;
  return {};
}

core::Status TransactionalProducer::send(const OutgoingRecord& record) {
  if (!in_transaction_) {
    return core::make_error(core::ErrorCategory::internal, "kafka-txn-state", "send() outside a transaction");
  }
  HeadersPtr headers(rd_kafka_headers_new(record.headers.size()));
  for (const auto& h : record.headers) {
    rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                        static_cast<ssize_t>(h.value.size()));
  }
  const void* key = record.key ? record.key->data() : nullptr;  // nullptr: a null key
  const std::size_t key_size = record.key ? record.key->size() : 0;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    const auto err = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // librdkafka owns the headers on success
      return {};
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || Clock::now() > deadline) {
      if (err == RD_KAFKA_RESP_ERR__FATAL) failed_ = true;
      return kafka_error(err, "produce to " + record.topic);
    }
    rd_kafka_poll(handle_.get(), 10);
  }
}

core::Status TransactionalProducer::send_offsets(const KafkaConsumer& consumer,
                                                 const std::map<TopicPartition, std::int64_t>& next_offsets,
                                                 std::chrono::milliseconds timeout) {
  if (next_offsets.empty()) return {};
  if (consumer.auto_commits()) {
    // Its own commits would race the transaction's and could move offsets back.
    return core::make_error(core::ErrorCategory::internal, "auto-commit",
                            "a consumer whose offsets go into transactions must not auto-commit");
  }
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
  for (const auto& [tp, offset] : next_offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = offset;
  }
  const auto metadata = consumer.group_metadata();
  // Retried with the identical offsets and metadata, as librdkafka asks.
  return until_done("send offsets to transaction", timeout, milliseconds(50), [&](int left) {
    return rd_kafka_send_offsets_to_transaction(handle_.get(), list.get(), metadata.get(), left);
  });
}

core::Status TransactionalProducer::commit(std::chrono::milliseconds timeout) {
  // Retriable (a timeout): the commit goes on in the background; calling again resumes it.
  auto status = until_done("commit transaction", timeout, milliseconds(0),
                           [&](int left) { return rd_kafka_commit_transaction(handle_.get(), left); });
  if (status) in_transaction_ = false;
  return status;
}

core::Status TransactionalProducer::abort(std::chrono::milliseconds timeout) {
  auto status = until_done("abort transaction", timeout, milliseconds(0),
                           [&](int left) { return rd_kafka_abort_transaction(handle_.get(), left); });
  if (status) in_transaction_ = false;
  return status;
}

}  // namespace paypipe::events
