#include "events/tail_reader.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "core/uuid.hpp"

namespace paypipe::events {

struct TailReader::Impl {
  KafkaOptions options;
  TailSettings settings;
  OnRecord on_record;
  std::function<void()> on_gap;
  HandlePtr handle;
  std::thread thread;
  std::atomic<bool> running{false};
  std::atomic<std::size_t> assigned{0};
  std::set<TopicPartition> assignment;

  // The partitions of our topics that exist now (a topic not created yet has none).
  std::set<TopicPartition> partitions() {
    std::set<TopicPartition> found;
    const rd_kafka_metadata_t* metadata = nullptr;
    const auto err = rd_kafka_metadata(handle.get(), 1, nullptr, &metadata, 5000);
    if (err) {
      spdlog::warn("live-update feed: topic metadata: {}", rd_kafka_err2str(err));
      return assignment;  // keep what we have
    }
    std::set<std::string> wanted;
    for (const auto& t : settings.topics) wanted.insert(options.topic(t));
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      const auto& topic = metadata->topics[i];
      if (topic.err || wanted.count(topic.topic) == 0) continue;
      for (int p = 0; p < topic.partition_cnt; ++p) found.insert(TopicPartition{topic.topic, topic.partitions[p].id});
    }
    rd_kafka_metadata_destroy(metadata);
    return found;
  }

  // Assigns every partition at its end. Called again when partitions appear: the
  // records between the old positions and the new ends are skipped, hence on_gap.
  void assign(const std::set<TopicPartition>& wanted) {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(wanted.size())));
    for (const auto& tp : wanted) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = RD_KAFKA_OFFSET_END;
    }
    if (const auto err = rd_kafka_assign(handle.get(), list.get())) {
      spdlog::warn("live-update feed: assign: {}", rd_kafka_err2str(err));
      return;
    }
    assignment = wanted;
    assigned = wanted.size();
    on_gap();
  }

  void run() {
    auto next_refresh = std::chrono::steady_clock::now();
    auto next_warning = next_refresh;
    while (running) {
      if (std::chrono::steady_clock::now() >= next_refresh) {
        auto wanted = partitions();
        if (wanted != assignment) assign(wanted);
        // Until every topic is there, look again soon.
        next_refresh = std::chrono::steady_clock::now() +
                       (wanted.empty() ? std::min(settings.refresh, std::chrono::milliseconds(1000))
                                       : settings.refresh);
      }
      MessagePtr message(rd_kafka_consumer_poll(handle.get(), 200));
      if (!message) continue;
      if (message->err) {
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
        // Broker and authorization errors repeat while they last: said once a minute.
        if (std::chrono::steady_clock::now() >= next_warning) {
          spdlog::warn("live-update feed: {} (streams still get updates from the table's tail)",
                       rd_kafka_message_errstr(message.get()));
          next_warning = std::chrono::steady_clock::now() + std::chrono::minutes(1);
        }
        // The fetch position survives transient errors; only a reset skips records.
        if (message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) on_gap();
        continue;
      }
      ConsumedRecord record;
      record.topic = rd_kafka_topic_name(message->rkt);
      record.partition = message->partition;
      record.offset = message->offset;
      if (message->key) record.key.emplace(static_cast<const char*>(message->key), message->key_len);
      if (message->payload) record.value.assign(static_cast<const char*>(message->payload), message->len);
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          record.headers.push_back(
              KafkaHeader{name, value ? std::string(static_cast<const char*>(value), size) : std::string()});
        }
      }
      try {
        on_record(record);
      } catch (const std::exception& e) {
        spdlog::warn("live-update feed: a record's handler threw: {}", e.what());
      }
    }
  }
};

core::Result<std::unique_ptr<TailReader>> TailReader::create(const KafkaOptions& options, TailSettings settings,
                                                             OnRecord on_record, std::function<void()> on_gap) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->settings = std::move(settings);
  impl->on_record = std::move(on_record);
  impl->on_gap = std::move(on_gap);
  auto conf = make_conf(options, {{"socket.keepalive.enable", "true"}, {"fetch.wait.max.ms", "50"}},
                        {
                            {"group.id", options.topic_prefix + "tail-" + core::new_uuid_v7()},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "false"},
                        });
  if (!conf) return conf.error();
  auto handle = make_consumer_handle(std::move(*conf), "the live-update feed's consumer");
  if (!handle) return handle.error();
  impl->handle = std::move(*handle);
  return std::unique_ptr<TailReader>(new TailReader(std::move(impl)));
}

TailReader::TailReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TailReader::~TailReader() { stop(); }

void TailReader::start() {
  if (impl_->running.exchange(true)) return;
  impl_->thread = std::thread([impl = impl_.get()] {
    pthread_setname_np(pthread_self(), "live-feed");
    impl->run();
  });
}

void TailReader::stop() {
  if (!impl_->running.exchange(false)) return;
  if (impl_->thread.joinable()) impl_->thread.join();
  (void)rd_kafka_assign(impl_->handle.get(), nullptr);
}

std::size_t TailReader::assigned() const { return impl_->assigned; }

}  // namespace paypipe::events
