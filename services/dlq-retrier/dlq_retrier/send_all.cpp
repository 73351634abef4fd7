#include "dlq_retrier/send_all.hpp"

#include <atomic>
#include <future>
#include <memory>
#include <mutex>

namespace paypipe::dlq_retrier {

core::Result<SentRecords> send_all(events::Producer& producer, std::vector<events::OutgoingRecord> records,
                                   std::chrono::milliseconds timeout) {
  struct Acks {
    std::mutex mutex;
    SentRecords result;
    std::atomic<std::size_t> pending{0};
    std::promise<void> done;
  };
  auto acks = std::make_shared<Acks>();
  acks->pending = records.size() + 1;  // +1: released after the loop, so `done` fires once
  auto arrived = [acks] {
    if (--acks->pending == 0) acks->done.set_value();
  };
  auto done = acks->done.get_future();
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto status = producer.send(std::move(records[i]), [acks, i, arrived](const events::Delivery& d) {
      {
        std::lock_guard lock(acks->mutex);
        if (d.status) acks->result.acknowledged.push_back(i);
        else acks->result.failure = d.status.error();
      }
      arrived();
    });
    if (!status) {
      {
        std::lock_guard lock(acks->mutex);
        acks->result.failure = status.error();
      }
      arrived();
    }
  }
  arrived();
  if (done.wait_for(timeout) != std::future_status::ready) {
    return core::make_error(core::ErrorCategory::unavailable, "kafka-ack-timeout",
                            "Kafka did not acknowledge the records in time");
  }
  std::lock_guard lock(acks->mutex);
  return acks->result;
}

}  // namespace paypipe::dlq_retrier
