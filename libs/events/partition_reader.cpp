#include "events/partition_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace paypipe::events {

using Clock = std::chrono::steady_clock;

core::Result<std::unique_ptr<PartitionReader>> PartitionReader::create(const KafkaOptions& options,
                                                                       const std::string& group) {
  // A short fetch wait: the end of a partition (after its last transaction marker) is
  // known only from an empty fetch, which the broker holds this long.
  auto conf = make_conf(options, {{"socket.keepalive.enable", "true"}, {"fetch.wait.max.ms", "100"}},
                        {
                            // The group's id, for its committed offsets only: never subscribed,
                            // never committed.
                            {"group.id", options.group(group)},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "true"},  // tells read() it reached the end
                            {"auto.offset.reset", "earliest"},
                        });
  if (!conf) return conf.error();
  auto handle = make_consumer_handle(std::move(*conf), "the Kafka reader");
  if (!handle) return handle.error();
  std::unique_ptr<PartitionReader> reader(new PartitionReader());
  reader->handle_ = std::move(*handle);
  return reader;
}

PartitionReader::~PartitionReader() {
  if (!handle_) return;
  // Not a member: closing only stops the fetchers.
  rd_kafka_assign(handle_.get(), nullptr);
  rd_kafka_consumer_close(handle_.get());
}

core::Result<std::vector<TopicPartition>> PartitionReader::partitions(
    const std::function<bool(std::string_view)>& wanted, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(handle_.get(), 1, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (err) return kafka_error(err, "metadata");
  std::vector<TopicPartition> out;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const auto& topic = metadata->topics[t];
    if (topic.err || !wanted(topic.topic)) continue;
    for (int p = 0; p < topic.partition_cnt; ++p) out.push_back({topic.topic, topic.partitions[p].id});
  }
  rd_kafka_metadata_destroy(metadata);
  std::sort(out.begin(), out.end());
  return out;
}

core::Result<std::vector<PartitionWindow>> PartitionReader::windows(const std::vector<TopicPartition>& partitions,
                                                                    std::chrono::milliseconds timeout) {
  std::vector<PartitionWindow> out;
  if (partitions.empty()) return out;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& p : partitions) rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
  // read_committed (librdkafka's default): offsets of open transactions are not reported.
  if (const auto err = rd_kafka_committed(handle_.get(), list.get(), static_cast<int>(timeout.count())); err) {
    return kafka_error(err, "committed offsets");
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& element = list->elems[i];
    if (element.err) return kafka_error(element.err, "committed offset");
    PartitionWindow w;
    w.partition = {element.topic, element.partition};
    w.committed = element.offset >= 0 ? element.offset : -1;
    if (const auto err = rd_kafka_query_watermark_offsets(handle_.get(), element.topic, element.partition, &w.low,
                                                          &w.high, static_cast<int>(timeout.count()));
        err) {
      return kafka_error(err, "watermarks");
    }
    out.push_back(std::move(w));
  }
  return out;
}

core::Result<std::vector<ConsumedRecord>> PartitionReader::read(const TopicPartition& partition, std::int64_t from,
                                                                std::int64_t end, std::size_t limit,
                                                                std::chrono::milliseconds timeout) {
  std::vector<ConsumedRecord> out;
  if (from >= end || limit == 0) return out;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.partition)->offset = from;
  if (const auto err = rd_kafka_assign(handle_.get(), list.get()); err) return kafka_error(err, "assign");
  const auto deadline = Clock::now() + timeout;
  core::Status status;
  while (out.size() < limit) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      if (out.empty()) {
        status = core::make_error(
            core::ErrorCategory::unavailable, "kafka-read-timeout",
            "no record of " + partition.topic + "[" + std::to_string(partition.partition) + "] arrived in time");
      }
      break;  // a partial page: the caller's cursor goes on from its last record
    }
    MessagePtr message(rd_kafka_consumer_poll(handle_.get(), static_cast<int>(left.count())));
    if (!message) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (message->err) {
      // Unknown topic or partition, offset out of range (the records were deleted):
      // nothing more to read there.
      status = kafka_error(message->err, "read " + partition.topic);
      break;
    }
    if (message->partition != partition.partition || rd_kafka_topic_name(message->rkt) != partition.topic ||
        message->offset < from) {
      continue;  // left over from an earlier assignment
    }
    if (message->offset >= end) break;
    out.push_back(copy_record(*message));
    if (message->offset + 1 >= end) break;  // the last one wanted: no need to wait for the end
  }
  rd_kafka_assign(handle_.get(), nullptr);
  if (!status && out.empty()) return status.error();
  return out;
}

}  // namespace paypipe::events
