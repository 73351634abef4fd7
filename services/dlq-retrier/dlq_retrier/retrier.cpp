#include "dlq_retrier/retrier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"
#include "dlq_retrier/metrics.hpp"
#include "dlq_retrier/parked_store.hpp"
#include "dlq_retrier/waiting_store.hpp"

namespace paypipe::dlq_retrier {

namespace lk = core::log::key;  // the log field names

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Retrier::Retrier(events::KafkaOptions options, RetrierSettings settings, pg::Pool& pool)
    : options_(std::move(options)), settings_(std::move(settings)), pool_(pool) {}

core::Result<std::unique_ptr<Retrier>> Retrier::create(const events::KafkaOptions& options, RetrierSettings settings,
                                                       pg::Pool& pool) {
  if (settings.batch_size == 0) settings.batch_size = 1;
  settings.consumer.auto_commit = false;  // offsets commit only inside the republishing transactions
  std::unique_ptr<Retrier> retrier(new Retrier(options, std::move(settings), pool));
  auto producer = events::TransactionalProducer::create(options, retrier->settings_.transactional);
  if (!producer) return producer.error();
  retrier->producer_ = std::move(producer).value();
  auto consumer = events::KafkaConsumer::create(options, retrier->settings_.consumer, retrier.get());
  if (!consumer) return consumer.error();
  retrier->consumer_ = std::move(consumer).value();
  return retrier;
}

Retrier::~Retrier() { stop(); }

core::Status Retrier::start() {
  // Before the first read: a predecessor's open transaction must be aborted, or the
  // consumer's committed offsets would stay unstable until it times out.
  if (auto s = producer_->init(settings_.init_timeout); !s) return s;
  if (auto s = consumer_->subscribe(); !s) return s;
  started_ = true;
  alive_ = true;
  thread_ = std::thread([this] { run(); });
  return {};
}

void Retrier::stop(std::chrono::milliseconds timeout) {
  if (!started_) return;
  stop_timeout_ = timeout;
  stop_requested_ = true;
  consumer_->wake();
  if (thread_.joinable()) thread_.join();
}

// ---------------------------------------------------------------- rebalances (inside poll)

void Retrier::on_assigned(const std::vector<events::TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    assigned_.insert(tp);
    to_resume_.insert(tp);
  }
}

void Retrier::on_revoking(const std::vector<events::TopicPartition>& partitions, bool /*lost*/) {
  // Nothing of the batch has been produced or parked yet (that happens in flush()), so
  // dropping the records of departing partitions loses nothing: the next owner reads
  // them again from the committed offsets. The same holds for lost partitions.
  const std::set<events::TopicPartition> going(partitions.begin(), partitions.end());
  std::erase_if(batch_.entries, [&](const Entry& e) { return going.count(e.source) > 0; });
  for (const auto& tp : partitions) {
    assigned_.erase(tp);
    to_resume_.erase(tp);
    waiting_.erase(tp);
    batch_.first.erase(tp);
    batch_.next.erase(tp);
  }
}

// ---------------------------------------------------------------- the loop

void Retrier::run() {
  pthread_setname_np(pthread_self(), "dlq-retrier");
  try {
    while (!stop_requested_) {
      resume_ready();
      const bool polled = fill_batch();
      if (!batch_.empty()) flush(settings_.transactional.transaction_timeout);
      report();
      if (!polled && !stop_requested_) consumer_->wait(next_wait());
    }
    if (!batch_.empty() && !producer_->failed()) flush(stop_timeout_);
    consumer_->close();
  } catch (const std::exception& e) {
    spdlog::critical("dlq-retrier loop failed: {}", e.what());
  }
  alive_ = false;
}

void Retrier::resume_ready() {
  std::vector<events::TopicPartition> resume;
  for (const auto& tp : to_resume_) {
    if (!waiting_.count(tp)) resume.push_back(tp);
  }
  to_resume_.clear();
  const auto now = core::now_ms();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto& [tp, w] = *it;
    if (!w.seeked) {
      // A partition is never resumed before its consumer position is back at the
      // waiting record: resuming past it would skip it.
      if (auto s = consumer_->seek(tp, w.offset); !s) {
        core::log::warn({{lk::topic, tp.topic}, {lk::partition, tp.partition}, {lk::offset, w.offset}},
                        "cannot seek back to the waiting record: {}", s.error().message);
        ++it;
        continue;
      }
      w.seeked = true;
    }
    if (w.until <= now) {
      resume.push_back(tp);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  consumer_->resume(resume);
}

bool Retrier::fill_batch() {
  bool polled = false;
  while (!stop_requested_ && batch_.entries.size() < settings_.batch_size) {
    auto record = consumer_->poll(milliseconds(0));
    if (!record) break;
    polled = true;
    handle(std::move(*record));
  }
  return polled;
}

void Retrier::handle(events::ConsumedRecord record) {
  const auto tp = record.topic_partition();
  if (!assigned_.count(tp)) return;  // polled before its partition went away
  if (const auto it = waiting_.find(tp); it != waiting_.end() && record.offset >= it->second.offset) {
    return;  // fetched before the partition was paused: it is read again when due
  }
  auto decision = decide(record, options_, settings_.schedule, core::now_ms());
  if (const auto* wait = std::get_if<Wait>(&decision)) {
    wait_at(tp, record.offset, wait->until);
    return;
  }
  batch_.first.try_emplace(tp, record.offset);
  batch_.next[tp] = record.offset + 1;
  if (auto* republish = std::get_if<Republish>(&decision)) {
    batch_.entries.push_back(Entry{tp, record.offset, std::move(*republish)});
  } else {
    batch_.entries.push_back(Entry{tp, record.offset, std::move(std::get<Park>(decision))});
  }
}

void Retrier::wait_at(const events::TopicPartition& tp, std::int64_t offset, core::SystemTime until) {
  consumer_->pause({tp});
  to_resume_.erase(tp);
  Waiting w{offset, until, false};
  if (auto s = consumer_->seek(tp, offset); s) {
    w.seeked = true;
  } else {
    core::log::warn({{lk::topic, tp.topic}, {lk::partition, tp.partition}, {lk::offset, offset}},
                    "cannot seek back to the waiting record: {} (retrying)", s.error().message);
  }
  waiting_[tp] = w;
}

core::Result<std::size_t> Retrier::drop_handled(pg::Transaction& tx, bool republishes_only) {
  std::vector<OffsetRange> ranges;
  for (const auto& [tp, first] : batch_.first) ranges.push_back({tp.topic, tp.partition, first, batch_.next.at(tp)});
  auto handled = handled_in(tx.connection(), ranges);
  if (!handled) return handled.error();
  if (handled->empty()) return std::size_t{0};
  return static_cast<std::size_t>(std::erase_if(batch_.entries, [&](const Entry& e) {
    if (republishes_only && !std::holds_alternative<Republish>(e.action)) return false;
    return handled->count(DeadLetterId{e.source.topic, e.source.partition, e.offset}) > 0;
  }));
}

void Retrier::flush(std::chrono::milliseconds timeout) {
  auto& metrics = Metrics::get();
  const auto& scope = options_.topic_prefix;
  std::size_t dropped = 0;
  // 1. Parks first, durable and idempotent: if the transaction below fails, the batch is
  //    read again and its parks are found parked already. Records an operator handled
  //    meanwhile are left out.
  const auto has_parks = std::any_of(batch_.entries.begin(), batch_.entries.end(),
                                     [](const Entry& e) { return std::holds_alternative<Park>(e.action); });
  std::vector<ParkedRecord> parks;
  if (has_parks) {
    std::vector<ParkedRecord> inserted;
    auto status = pool_.transact([&](pg::Transaction& tx) -> core::Status {
      if (auto s = lock_shared_for_retrier(tx, scope); !s) return s;
      auto gone = drop_handled(tx, false);
      if (!gone) return gone.error();
      dropped += *gone;
      for (const auto& e : batch_.entries) {
        if (const auto* park = std::get_if<Park>(&e.action)) parks.push_back(park->record);
      }
      auto rows = insert_parked(tx, parks);
      if (!rows) return rows.error();
      inserted = std::move(rows).value();
      return {};
    });
    if (!status) {
      roll_back(status.error());
      return;
    }
    for (const auto& p : inserted) {
      metrics.parked.Add({{"group", p.group}, {"reason", p.reason}}).Increment();
      core::log::warn({{lk::topic, p.dlq_topic},
                       {lk::partition, p.dlq_partition},
                       {lk::offset, p.dlq_offset},
                       {lk::group, p.group}},
                      "parked as {} (id {}): {}", p.reason, p.id, p.reason_detail);
    }
  }
  // 2. The republished records and the offsets, in one Kafka transaction, under the
  //    shared lock from the check against operators' retries until it has committed.
  bool committed = false;
  core::Status kafka_status;
  auto status = pool_.transact([&](pg::Transaction& tx) -> core::Status {
    if (auto s = lock_shared_for_retrier(tx, scope); !s) return s;
    // Parked in step 1 or by an operator since: only what would be sent matters now.
    auto gone = drop_handled(tx, true);
    if (!gone) return gone.error();
    dropped += *gone;
    kafka_status = commit_transaction(timeout);
    committed = kafka_status.ok();
    return kafka_status;
  });
  // Committed in Kafka but the read-only PostgreSQL transaction failed to end: done all the same.
  if (!status && !committed) {
    if (producer_->failed()) {
      spdlog::critical("dlq-retrier: fatal Kafka error, stopping: {}", status.error().message);
      stop_requested_ = true;
      batch_.clear();
      if (settings_.on_fatal) settings_.on_fatal(status.error());
      return;
    }
    roll_back(status.error());
    return;
  }
  std::size_t republished = 0;
  for (const auto& e : batch_.entries) {
    if (const auto* r = std::get_if<Republish>(&e.action)) {
      metrics.republished.Add({{"group", r->group}}).Increment();
      ++republished;
    }
  }
  spdlog::info(
      "dlq-retrier committed a batch: {} republished, {} parked, {} handled already (by an operator or before)",
      republished, parks.size(), dropped);
  batch_.clear();
  failures_in_a_row_ = 0;
}

core::Status Retrier::commit_transaction(std::chrono::milliseconds timeout) {
  auto run = [&]() -> core::Status {
    if (auto s = producer_->begin(); !s) return s;
    for (const auto& e : batch_.entries) {
      if (const auto* r = std::get_if<Republish>(&e.action)) {
        if (auto s = producer_->send(r->record); !s) return s;
      }
    }
    if (auto s = producer_->send_offsets(*consumer_, batch_.next, timeout); !s) return s;
    return producer_->commit(timeout);
  };
  auto status = run();
  if (!status && producer_->in_transaction() && !producer_->failed()) {
    if (auto aborted = producer_->abort(timeout); !aborted) {
      spdlog::error("dlq-retrier: abort failed: {}", aborted.error().message);
      // An abort that cannot finish leaves the producer unusable for the next batch.
      if (!producer_->failed()) return aborted;
    }
  }
  return status;
}

void Retrier::roll_back(const core::Error& error) {
  Metrics::get().transaction_failures.Increment();
  ++failures_in_a_row_;
  const auto backoff = settings_.rollback_backoff.delay(failures_in_a_row_);
  spdlog::error("dlq-retrier: batch rolled back ({}), reading it again in {} ms", error.message, backoff.count());
  // Each partition of the batch goes back to its first record of the batch and waits.
  const auto until = core::now_ms() + backoff;
  for (const auto& [tp, first] : batch_.first) wait_at(tp, first, until);
  batch_.clear();
}

std::chrono::milliseconds Retrier::next_wait() const {
  milliseconds wait(200);
  const auto now = core::now_ms();
  for (const auto& [tp, w] : waiting_) {
    if (!w.seeked) continue;
    wait = std::min(wait, std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(w.until - now)));
  }
  return wait;
}

void Retrier::report() {
  auto& metrics = Metrics::get();
  metrics.waiting_partitions.Set(static_cast<double>(waiting_.size()));
  const auto now = Clock::now();
  if (now < next_report_) return;
  next_report_ = now + std::chrono::seconds(2);
  std::map<std::string, double> lag;
  for (const auto& group : reported_groups_) lag[group] = 0;  // a group whose partitions left reads 0
  for (const auto& tp : assigned_) {
    const auto group = group_of_dlq_topic(tp.topic, options_);
    if (!group) continue;
    lag[*group] += static_cast<double>(consumer_->lag(tp).value_or(0));
  }
  for (const auto& [group, value] : lag) {
    metrics.waiting_records.Add({{"group", group}}).Set(value);
    reported_groups_.insert(group);
  }
}

}  // namespace paypipe::dlq_retrier
