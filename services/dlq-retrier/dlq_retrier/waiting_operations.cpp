#include "dlq_retrier/waiting_operations.hpp"

#include <spdlog/spdlog.h>

#include "dlq_retrier/decision.hpp"
#include "dlq_retrier/metrics.hpp"
#include "dlq_retrier/parked_store.hpp"
#include "dlq_retrier/send_all.hpp"
#include "dlq_retrier/waiting_store.hpp"
#include "events/dead_letter.hpp"

namespace paypipe::dlq_retrier {

namespace {

constexpr auto kafka_timeout = std::chrono::seconds(5);
constexpr auto ack_timeout = std::chrono::seconds(30);
constexpr std::size_t retry_chunk = 100;

std::string where(const std::string& topic, std::int32_t partition, std::int64_t offset) {
  return topic + "[" + std::to_string(partition) + "]@" + std::to_string(offset);
}

core::Error no_record(const std::string& topic, std::int32_t partition, std::int64_t offset) {
  return core::make_error(core::ErrorCategory::not_found, "dead-letter-not-found",
                          "no dead letter at " + where(topic, partition, offset));
}

}  // namespace

WaitingOperations::WaitingOperations(pg::Pool& pool, events::Producer& producer, events::KafkaOptions options,
                                     RetrySchedule schedule, std::string retrier_group)
    : pool_(pool),
      producer_(producer),
      options_(std::move(options)),
      schedule_(std::move(schedule)),
      retrier_group_(std::move(retrier_group)) {}

WaitingOperations::~WaitingOperations() = default;

core::Result<events::PartitionReader*> WaitingOperations::reader() {
  if (!reader_) {
    auto created = events::PartitionReader::create(options_, retrier_group_);
    if (!created) return created.error();
    reader_ = std::move(created).value();
  }
  return reader_.get();
}

std::string WaitingOperations::topic_of(const std::string& group) const {
  return options_.topic(events::dlq_topic(group));
}

core::Result<std::vector<events::PartitionWindow>> WaitingOperations::windows_of(const std::string& group) {
  auto r = reader();
  if (!r) return r.error();
  const auto topic = topic_of(group);
  auto partitions = (*r)->partitions([&](std::string_view name) { return name == topic; }, kafka_timeout);
  if (!partitions) return partitions.error();
  if (partitions->empty()) {
    return core::make_error(core::ErrorCategory::not_found, "dlq-topic-not-found",
                            "group " + group + " has no dead-letter topic " + topic);
  }
  return (*r)->windows(*partitions, kafka_timeout);
}

core::Result<events::PartitionWindow> WaitingOperations::window_of(const std::string& group, std::int32_t partition) {
  auto windows = windows_of(group);
  if (!windows) return windows.error();
  for (auto& w : *windows) {
    if (w.partition.partition == partition) return std::move(w);
  }
  return core::make_error(core::ErrorCategory::not_found, "dead-letter-not-found",
                          topic_of(group) + " has no partition " + std::to_string(partition));
}

core::Result<WaitingOperations::Collected> WaitingOperations::collect(
    const std::vector<events::PartitionWindow>& windows, const std::optional<WaitingCursor>& cursor,
    std::size_t limit) {
  auto r = reader();
  if (!r) return r.error();
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  Collected out;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto& w = windows[i];
    const auto& tp = w.partition;
    if (cursor && tp.partition < cursor->partition) continue;
    auto from = w.start();
    if (cursor && tp.partition == cursor->partition) from = std::max(from, cursor->offset);
    while (from < w.high) {
      if (out.records.size() >= limit) {
        out.next = WaitingCursor{tp.partition, from};
        return out;
      }
      auto records = (*r)->read(tp, from, w.high, limit - out.records.size(), kafka_timeout);
      if (!records) return records.error();
      if (records->empty()) break;  // the rest were transaction markers
      auto handled = handled_in(**lease,
                                {{tp.topic, tp.partition, records->front().offset, records->back().offset + 1}});
      if (!handled) return handled.error();
      from = records->back().offset + 1;
      for (auto& record : *records) {
        if (!handled->count(DeadLetterId{record.topic, record.partition, record.offset})) {
          out.records.push_back(std::move(record));
        }
      }
    }
  }
  return out;
}

core::Result<std::vector<GroupSummary>> WaitingOperations::summaries(const std::optional<std::string>& group,
                                                                     std::size_t scan_limit) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> groups;
  if (group) {
    groups.push_back(*group);
  } else {
    auto r = reader();
    if (!r) return r.error();
    auto partitions = (*r)->partitions(
        [&](std::string_view name) { return group_of_dlq_topic(name, options_).has_value(); }, kafka_timeout);
    if (!partitions) return partitions.error();
    for (const auto& tp : *partitions) {
      auto g = *group_of_dlq_topic(tp.topic, options_);
      if (groups.empty() || groups.back() != g) groups.push_back(std::move(g));
    }
  }
  std::vector<GroupSummary> out;
  const auto now = core::now_ms();
  for (const auto& g : groups) {
    auto windows = windows_of(g);
    if (!windows) return windows.error();
    std::int64_t span = 0;
    for (const auto& w : *windows) span += w.span();
    auto collected = collect(*windows, std::nullopt, scan_limit);
    if (!collected) return collected.error();
    std::vector<WaitingRecord> views;
    views.reserve(collected->records.size());
    for (const auto& record : collected->records) views.push_back(view_of(record, options_, schedule_, now));
    out.push_back(summarize(g, topic_of(g), views, !collected->next, span, now));
  }
  return out;
}

core::Result<WaitingPage> WaitingOperations::list(const std::string& group, std::size_t limit,
                                                  const std::optional<WaitingCursor>& cursor) {
  std::lock_guard lock(mutex_);
  auto windows = windows_of(group);
  if (!windows) return windows.error();
  auto collected = collect(*windows, cursor, limit);
  if (!collected) return collected.error();
  WaitingPage page;
  page.group = group;
  page.next = collected->next;
  const auto now = core::now_ms();
  for (const auto& record : collected->records) page.items.push_back(view_of(record, options_, schedule_, now));
  return page;
}

core::Result<events::ConsumedRecord> WaitingOperations::waiting_record(const std::string& group, std::int32_t partition,
                                                                       std::int64_t offset) {
  const auto topic = topic_of(group);
  auto window = window_of(group, partition);
  if (!window) return window.error();
  if (offset >= window->high || offset < window->low) return no_record(topic, partition, offset);
  if (offset < window->start()) {
    return core::make_error(core::ErrorCategory::conflict, "dead-letter-not-waiting",
                            "dlq-retrier has handled " + where(topic, partition, offset) +
                                " already (its committed offset is " + std::to_string(window->committed) + ")");
  }
  auto r = reader();
  if (!r) return r.error();
  auto records = (*r)->read(window->partition, offset, offset + 1, 1, kafka_timeout);
  if (!records) return records.error();
  if (records->empty() || records->front().offset != offset) return no_record(topic, partition, offset);
  return std::move(records->front());
}

core::Result<RetriedRecord> WaitingOperations::retry(const std::string& group, std::int32_t partition,
                                                     std::int64_t offset) {
  std::lock_guard lock(mutex_);
  const DeadLetterId id{topic_of(group), partition, offset};
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto s = lock_for_operator(*tx, options_.topic_prefix); !s) return s.error();
  auto retried = find_retried(tx->connection(), id);
  if (!retried) return retried.error();
  if (*retried) return std::move(**retried);  // idempotent: sent once
  auto parked = parked_id_of(tx->connection(), id);
  if (!parked) return parked.error();
  if (*parked) {
    return core::make_error(core::ErrorCategory::conflict, "dead-letter-parked",
                            where(id.topic, partition, offset) + " is parked already (id " + std::to_string(**parked) +
                                "): replay it with POST /v1/parked/" + std::to_string(**parked) + "/replay");
  }
  auto record = waiting_record(group, partition, offset);
  if (!record) return record.error();
  auto republish = retry_now(*record, options_);
  if (!republish) return republish.error();
  RetriedRecord done{group, id.topic, partition, offset, republish->record.topic, republish->attempt, "", false};
  if (auto sent = producer_.send_and_wait(std::move(republish->record), ack_timeout); !sent) return sent.error();
  if (auto s = insert_retried(*tx, done); !s) return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  Metrics::get().republished.Add({{"group", group}}).Increment();
  spdlog::info("retried dead letter {} now, to {} as attempt {}", where(id.topic, partition, offset), done.retry_topic,
               done.attempt);
  done.retried_at = core::now_rfc3339();
  return done;
}

core::Result<std::int64_t> WaitingOperations::retry_all(const std::string& group) {
  std::lock_guard lock(mutex_);
  // What waits when the call starts: records that fail again meanwhile are not retried again.
  auto snapshot = windows_of(group);
  if (!snapshot) return snapshot.error();
  auto r = reader();
  if (!r) return r.error();
  std::int64_t total = 0;
  for (const auto& at_start : *snapshot) {
    const auto& tp = at_start.partition;
    auto from = at_start.start();
    while (from < at_start.high) {
      auto lease = pool_.acquire();
      if (!lease) return lease.error();
      auto tx = pg::Transaction::begin(**lease);
      if (!tx) return tx.error();
      if (auto s = lock_for_operator(*tx, options_.topic_prefix); !s) return s.error();
      // The retrier may have moved on since: only what still waits, under the lock.
      auto now = (*r)->windows({tp}, kafka_timeout);
      if (!now) return now.error();
      from = std::max(from, now->front().start());
      if (from >= at_start.high) break;
      auto records = (*r)->read(tp, from, at_start.high, retry_chunk, kafka_timeout);
      if (!records) return records.error();
      if (records->empty()) break;
      from = records->back().offset + 1;
      auto handled = handled_in(tx->connection(), {{tp.topic, tp.partition, records->front().offset, from}});
      if (!handled) return handled.error();
      std::vector<events::OutgoingRecord> outgoing;
      std::vector<RetriedRecord> rows;
      for (const auto& record : *records) {
        if (handled->count(DeadLetterId{record.topic, record.partition, record.offset})) continue;
        auto republish = retry_now(record, options_);
        if (!republish) return republish.error();
        rows.push_back(RetriedRecord{group, record.topic, record.partition, record.offset, republish->record.topic,
                                     republish->attempt, "", false});
        outgoing.push_back(std::move(republish->record));
      }
      auto sent = send_all(producer_, std::move(outgoing), ack_timeout);
      if (!sent) return sent.error();
      for (const auto i : sent->acknowledged) {
        if (auto s = insert_retried(*tx, rows[i]); !s) return s.error();
      }
      if (auto s = tx->commit(); !s) return s.error();
      total += static_cast<std::int64_t>(sent->acknowledged.size());
      Metrics::get().republished.Add({{"group", group}}).Increment(static_cast<double>(sent->acknowledged.size()));
      if (sent->failure) return *sent->failure;
    }
  }
  spdlog::info("retried {} waiting dead letter(s) of group {} now", total, group);
  return total;
}

core::Result<ParkedRecord> WaitingOperations::skip(const std::string& group, std::int32_t partition,
                                                   std::int64_t offset, const std::string& reason) {
  std::lock_guard lock(mutex_);
  const DeadLetterId id{topic_of(group), partition, offset};
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto s = lock_for_operator(*tx, options_.topic_prefix); !s) return s.error();
  auto retried = find_retried(tx->connection(), id);
  if (!retried) return retried.error();
  if (*retried) {
    return core::make_error(core::ErrorCategory::conflict, "dead-letter-retried",
                            where(id.topic, partition, offset) + " was retried at " + (*retried)->retried_at);
  }
  auto parked = parked_id_of(tx->connection(), id);
  if (!parked) return parked.error();
  std::int64_t parked_id = parked->value_or(0);
  if (parked_id == 0) {  // idempotent: a record parked already keeps its row
    auto record = waiting_record(group, partition, offset);
    if (!record) return record.error();
    const auto row = parked_record_of(*record, group, reason::skipped, reason);
    auto inserted = insert_parked(*tx, std::vector<ParkedRecord>{row});
    if (!inserted) return inserted.error();
    if (inserted->empty()) {
      return core::make_error(core::ErrorCategory::conflict, "dead-letter-parked",
                              where(id.topic, partition, offset) + " was parked meanwhile");
    }
    parked_id = inserted->front().id;
    if (auto s = tx->commit(); !s) return s.error();
    Metrics::get().parked.Add({{"group", group}, {"reason", reason::skipped}}).Increment();
    spdlog::info("skipped dead letter {}: parked as SKIPPED (id {})", where(id.topic, partition, offset), parked_id);
  }
  auto found = find_parked(**lease, parked_id);
  if (!found) return found.error();
  if (!*found) return no_record(id.topic, partition, offset);
  return std::move(**found);
}

}  // namespace paypipe::dlq_retrier
