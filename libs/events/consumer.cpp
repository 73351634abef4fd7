#include "events/consumer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/metrics.hpp"
#include "events/kafka_stats.hpp"

namespace paypipe::events {

namespace {

std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

PartitionListPtr to_list(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& p : partitions) rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
  return list;
}

std::string regex_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Stored offsets kept per partition for the commit delay; beyond, the oldest go unmeasured
// (commits failing for long: the consumer's lag tells that story).
constexpr std::size_t max_uncommitted = 10000;

prometheus::Family<prometheus::Histogram>& commit_delay_family() {
  static auto& family = prometheus::BuildHistogram()
                            .Name("consumer_commit_delay_seconds")
                            .Help(
                                "From an offset stored (its records done) to the broker's acknowledgement of its "
                                "commit")
                            .Register(core::metrics::registry());
  return family;
}

}  // namespace

std::string prefixed_topic(std::string_view prefix, std::string_view topic) {
  if (!topic.empty() && topic.front() == '^') return "^" + regex_escape(prefix) + std::string(topic.substr(1));
  return std::string(prefix) + std::string(topic);
}

core::Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::create(const KafkaOptions& options,
                                                                   const ConsumerSettings& settings,
                                                                   RebalanceListener* listener) {
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer());
  consumer->options_ = options;
  consumer->listener_ = listener;
  consumer->group_id_ = options.group(settings.group);
  consumer->auto_commit_ = settings.auto_commit;
  for (const auto& t : settings.topics) {
    // A regex is matched against actual names; a plain name is a logical one.
    consumer->subscription_.push_back(t.starts_with('^') ? prefixed_topic(options.topic_prefix, t) : options.topic(t));
  }

  auto conf = make_conf(options,
                        {
                            {"session.timeout.ms", std::to_string(settings.session_timeout.count())},
                            {"max.poll.interval.ms", std::to_string(settings.max_poll_interval.count())},
                            {"auto.offset.reset", settings.auto_offset_reset},
                            {"auto.commit.interval.ms", std::to_string(settings.auto_commit_interval.count())},
                            {"queued.max.messages.kbytes", std::to_string(settings.queued_max_kbytes)},
                            {"queued.min.messages", std::to_string(settings.queued_min_messages)},
                            {"topic.metadata.refresh.interval.ms", "10000"},
                            {"socket.keepalive.enable", "true"},
                        },
                        {
                            // The contract of this class: offsets are stored by us only.
                            {"group.id", consumer->group_id_},
                            {"enable.auto.commit", settings.auto_commit ? "true" : "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "false"},
                            {"partition.assignment.strategy", settings.assignment_strategy},
                        });
  if (!conf) return conf.error();
  rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaConsumer::on_rebalance);
  if (settings.auto_commit) {
    rd_kafka_conf_set_offset_commit_cb(conf->get(), &KafkaConsumer::on_commit);
    consumer->commit_delay_ = &commit_delay_family().Add({{"group", settings.group}}, core::metrics::hop_buckets());
  }
  if (auto statistics = enable_statistics(conf->get(), options); !statistics) return statistics.error();
  rd_kafka_conf_set_opaque(conf->get(), consumer.get());
  auto handle = make_consumer_handle(std::move(*conf), "the Kafka consumer");
  if (!handle) return handle.error();
  consumer->handle_ = std::move(*handle);
  consumer->queue_.reset(rd_kafka_queue_get_consumer(consumer->handle_.get()));

  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return core::make_error(core::ErrorCategory::internal, "pipe", "cannot create the consumer's wake pipe");
  }
  consumer->wake_read_ = fds[0];
  consumer->wake_write_ = fds[1];
  // librdkafka writes a byte when the queue goes from empty to non-empty.
  rd_kafka_queue_io_event_enable(consumer->queue_.get(), consumer->wake_write_, "k", 1);
  return consumer;
}

KafkaConsumer::~KafkaConsumer() {
  close();
  queue_.reset();
  if (handle_) forget_statistics(rd_kafka_name(handle_.get()));
  handle_.reset();
  if (wake_read_ >= 0) ::close(wake_read_);
  if (wake_write_ >= 0) ::close(wake_write_);
}

core::Status KafkaConsumer::subscribe() {
  PartitionListPtr topics(rd_kafka_topic_partition_list_new(static_cast<int>(subscription_.size())));
  for (const auto& t : subscription_) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  const auto err = rd_kafka_subscribe(handle_.get(), topics.get());
  if (err) return kafka_error(err, "subscribe");
  return {};
}

void KafkaConsumer::on_rebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  const auto list = to_vector(partitions);
  // COOPERATIVE (cooperative-sticky): `partitions` is only what moves, and the rest of
  // the assignment keeps running; EAGER: everything is revoked, then assigned anew.
  const char* protocol = rd_kafka_rebalance_protocol(handle);
  const bool cooperative = protocol != nullptr && std::string_view(protocol) == "COOPERATIVE";
  auto report = [&](rd_kafka_error_t* error, const char* what) {
    if (error == nullptr) return;
    spdlog::error("group {}: {} failed: {}", self->group_id_, what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  };
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    spdlog::info("group {}: assigned {} partition(s){}", self->group_id_, list.size(),
                 cooperative ? " (incremental)" : "");
    if (self->listener_) self->listener_->on_assigned(list);
    if (cooperative) report(rd_kafka_incremental_assign(handle, partitions), "incremental assign");
    else rd_kafka_assign(handle, partitions);
    return;
  }
  const bool lost = rd_kafka_assignment_lost(handle) != 0;
  spdlog::info("group {}: {} {} partition(s){}", self->group_id_, lost ? "lost" : "revoking", list.size(),
               cooperative ? " (incremental)" : "");
  if (self->listener_) self->listener_->on_revoking(list, lost);
  if (!lost && self->auto_commit_) {
    const auto commit_err = rd_kafka_commit(handle, nullptr, 0);
    if (commit_err && commit_err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("group {}: commit on revoke failed: {}", self->group_id_, rd_kafka_err2str(commit_err));
    }
  }
  for (const auto& p : list) self->uncommitted_.erase(p);
  if (cooperative) report(rd_kafka_incremental_unassign(handle, partitions), "incremental unassign");
  else rd_kafka_assign(handle, nullptr);
}

void KafkaConsumer::on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                              void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || offsets == nullptr || self->commit_delay_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < offsets->cnt; ++i) {
    const auto& committed = offsets->elems[i];
    if (committed.err != RD_KAFKA_RESP_ERR_NO_ERROR || committed.offset < 0) continue;
    const auto it = self->uncommitted_.find({committed.topic, committed.partition});
    if (it == self->uncommitted_.end()) continue;
    auto& stored = it->second;
    while (!stored.empty() && stored.front().offset <= committed.offset) {
      self->commit_delay_->Observe(std::chrono::duration<double>(now - stored.front().at).count());
      stored.pop_front();
    }
  }
}

std::optional<ConsumedRecord> KafkaConsumer::poll(std::chrono::milliseconds timeout) {
  MessagePtr message(rd_kafka_consumer_poll(handle_.get(), static_cast<int>(timeout.count())));
  if (!message) return std::nullopt;
  if (message->err) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_log_ > std::chrono::seconds(10)) {
      last_error_log_ = now;
      spdlog::warn("group {}: consumer error: {}", group_id_, rd_kafka_message_errstr(message.get()));
    }
    return std::nullopt;
  }
  return copy_record(*message);
}

void KafkaConsumer::wait(std::chrono::milliseconds timeout) {
  pollfd fd{wake_read_, POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(timeout.count())) > 0) {
    char buffer[256];
    while (::read(wake_read_, buffer, sizeof buffer) > 0) {
    }
  }
}

void KafkaConsumer::wake() {
  const char byte = 'w';
  (void)!::write(wake_write_, &byte, 1);  // a full pipe already wakes the reader
}

core::Status KafkaConsumer::store_offset(const TopicPartition& partition, std::int64_t next_offset) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.partition)->offset = next_offset;
  const auto err = rd_kafka_offsets_store(handle_.get(), list.get());
  if (err) return kafka_error(err, "store offset");
  if (list->elems[0].err) return kafka_error(list->elems[0].err, "store offset");
  if (commit_delay_ != nullptr) {
    auto& stored = uncommitted_[partition];
    if (stored.size() >= max_uncommitted) stored.pop_front();
    stored.push_back({next_offset, std::chrono::steady_clock::now()});
  }
  return {};
}

core::Status KafkaConsumer::commit() {
  const auto err = rd_kafka_commit(handle_.get(), nullptr, 0);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) return kafka_error(err, "commit");
  return {};
}

void KafkaConsumer::pause(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = to_list(partitions);
  rd_kafka_pause_partitions(handle_.get(), list.get());
}

void KafkaConsumer::resume(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = to_list(partitions);
  rd_kafka_resume_partitions(handle_.get(), list.get());
}

core::Status KafkaConsumer::seek(const TopicPartition& partition, std::int64_t offset) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.partition)->offset = offset;
  rd_kafka_error_t* error = rd_kafka_seek_partitions(handle_.get(), list.get(), 5000);
  if (error) {
    const auto code = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    return kafka_error(code, "seek");
  }
  if (list->elems[0].err) return kafka_error(list->elems[0].err, "seek");
  return {};
}

std::vector<TopicPartition> KafkaConsumer::assignment() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(handle_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  PartitionListPtr list(raw);
  return to_vector(list.get());
}

GroupMetadataPtr KafkaConsumer::group_metadata() const {
  return GroupMetadataPtr(rd_kafka_consumer_group_metadata(handle_.get()));
}

std::optional<std::int64_t> KafkaConsumer::lag(const TopicPartition& partition) const {
  int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(handle_.get(), partition.topic.c_str(), partition.partition, &low, &high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  auto list = to_list({partition});
  if (rd_kafka_position(handle_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const int64_t position = list->elems[0].offset;
  if (position < 0 || high < 0) return std::nullopt;
  return std::max<int64_t>(0, high - position);
}

void KafkaConsumer::close() {
  if (closed_ || !handle_) return;
  closed_ = true;
  const auto err = rd_kafka_consumer_close(handle_.get());
  if (err) spdlog::warn("group {}: close: {}", group_id_, rd_kafka_err2str(err));
}

}  // namespace paypipe::events
