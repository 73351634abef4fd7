#include "notification_sender/notifier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "events/retry.hpp"
#include "notification_sender/messages.hpp"
#include "notification_sender/telegram.hpp"

namespace paypipe::notification_sender {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view component = "notification-sender";
constexpr std::size_t unlogged_capacity = 100000;

struct Metrics {
  prometheus::Family<prometheus::Counter>& messages;
  prometheus::Family<prometheus::Counter>& failures;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& waiting;
  prometheus::Histogram& send_seconds;
  prometheus::Counter& log_write_failures;
  prometheus::Counter& possible_duplicates;
  prometheus::Family<prometheus::Counter>& maybe_sent;
  prometheus::Family<prometheus::Counter>& claims;

  static Metrics& get() {
    auto& r = core::metrics::registry();
    static auto& messages = prometheus::BuildCounter()
                                .Name("notification_messages_total")
                                .Help("Events finished, by type and result (sent, skipped, duplicate)")
                                .Register(r);
    static auto& failures = prometheus::BuildCounter()
                                .Name("notification_send_failures_total")
                                .Help("Failed sendMessage calls, by reason")
                                .Register(r);
    static auto& in_flight = prometheus::BuildGauge()
                                 .Name("notification_sends_in_flight")
                                 .Help("sendMessage calls on the wire")
                                 .Register(r)
                                 .Add({});
    static auto& waiting = prometheus::BuildGauge()
                               .Name("notification_sends_waiting")
                               .Help("Sends held by the gate after a 429 (Retry-After)")
                               .Register(r)
                               .Add({});
    static auto& send_seconds = prometheus::BuildHistogram()
                                    .Name("telegram_send_duration_seconds")
                                    .Help("One sendMessage call, from start to answer")
                                    .Register(r)
                                    .Add({}, core::metrics::latency_buckets());
    static auto& log_write_failures = prometheus::BuildCounter()
                                          .Name("notification_log_write_failures_total")
                                          .Help("Batches of log rows that could not be written")
                                          .Register(r)
                                          .Add({});
    static auto& possible_duplicates =
        prometheus::BuildCounter()
            .Name("notification_possible_duplicates_total")
            .Help(
                "Events whose claim was taken over from another owner after its lease expired: that owner may "
                "have sent the message (crashed after the call, before its log row)")
            .Register(r)
            .Add({});
    static auto& maybe_sent = prometheus::BuildCounter()
                                  .Name("telegram_maybe_sent_total")
                                  .Help(
                                      "sendMessage calls that failed after the request was written (timeout, "
                                      "connection lost): Telegram may have sent them; the retry sends again")
                                  .Register(r);
    static auto& claims = prometheus::BuildCounter()
                              .Name("notification_claims_total")
                              .Help("Claims asked for before a send, by result (claimed, taken_over, held, done)")
                              .Register(r);
    static Metrics m{messages,   failures, in_flight, waiting, send_seconds, log_write_failures, possible_duplicates,
                     maybe_sent, claims};
    return m;
  }

  void finished(const std::string& type, const char* result) {
    messages.Add({{"type", type}, {"result", result}}).Increment();
  }
};

events::Outcome retry(std::string_view name, std::string message) {
  return events::Outcome::retry("paypipe." + std::string(component) + "." + std::string(name), std::move(message));
}

}  // namespace

Prepared prepare(const events::Event& event, const Recipients& recipients, const Templates& templates) {
  if (!core::is_uuid(event.id)) {
    return {std::nullopt, {}, events::Outcome::fail("paypipe.notification-sender.BadEventId", "ce_id is not a UUID")};
  }
  auto notice = notice_from(event);
  if (!notice) return {std::nullopt, {}, events::outcome_for(notice.error(), component)};
  const auto locale = recipients.locale_for(notice->user_id);
  const auto chat = recipients.chat_for(notice->user_id);
  LogEntry entry;
  entry.event_id = event.id;
  entry.event_type = event.type;
  entry.user_id = notice->user_id;
  entry.status = chat ? "SENT" : "SKIPPED";
  entry.chat_id = chat;
  if (!chat) entry.reason = std::string(skip_no_chat);
  entry.locale = to_string(locale);
  entry.text = render(*notice, locale, templates);
  entry.payment_id = notice->payment_id;
  entry.order_id = notice->order_id;
  entry.request_id = notice->request_id;
  return {std::move(entry), std::move(notice).value(), events::Outcome::ok()};
}

void to_linked_chat(LogEntry& entry, const Notice& notice, const LinkedChat& chat, const Recipients& recipients,
                    const Templates& templates) {
  const auto locale = chat.locale.value_or(recipients.locale_for(notice.user_id));
  entry.chat_id = chat.chat_id;
  entry.status = "SENT";
  entry.reason.clear();
  entry.locale = to_string(locale);
  entry.text = render(notice, locale, templates);
}

Notifier::Notifier(const Config& config, pg::Pool& pool, http::Client& telegram)
    : config_(config),
      pool_(pool),
      telegram_(telegram),
      gate_(config.telegram.max_retry_after),
      check_queue_({config.claims.db_workers, config.claims.db_batch_size, std::chrono::microseconds(0), 1'000'000,
                    "notify-check"},
                   [this](std::vector<JobPtr>& jobs) { check(jobs); }),
      write_queue_({config.claims.db_workers, config.claims.db_batch_size, std::chrono::microseconds(0), 1'000'000,
                    "notify-write"},
                   [this](std::vector<JobPtr>& jobs) { write(jobs); }),
      release_queue_({1, config.claims.db_batch_size, std::chrono::microseconds(0), 1'000'000, "notify-release"},
                     [this](std::vector<std::string>& ids) { release_claims(ids); }) {
  Metrics::get();
}

Notifier::~Notifier() { stop(); }

void Notifier::handle(const events::ConsumedEvent& event, events::OutcomeCallback done) {
  if (shutting_down_) {
    done(retry("ShuttingDown", "notification-sender is stopping"));
    return;
  }
  if (event.is_abandoned()) {
    done(retry("Abandoned", "the record's partition was revoked: its next owner sends it"));
    return;
  }
  auto prepared = prepare(event.event, config_.recipients, config_.templates);
  if (!prepared.entry) {
    Metrics::get().failures.Add({{"reason", "undecodable"}}).Increment();
    done(std::move(prepared.outcome));
    return;
  }
  const std::string id = prepared.entry->event_id;
  {
    std::lock_guard lock(running_mutex_);
    if (!running_.insert(id).second) {
      done(retry("RunningHere", "another job of this process is sending this event"));
      return;
    }
  }
  // Every way a job ends goes through `done`: the id is free again for this process.
  auto finish = [this, id, done = std::move(done)](events::Outcome outcome) {
    {
      std::lock_guard lock(running_mutex_);
      running_.erase(id);
    }
    done(std::move(outcome));
  };
  auto job = std::make_shared<Job>(Job{std::move(*prepared.entry),
                                       std::move(prepared.notice),
                                       core::current_trace(),
                                       std::move(finish),
                                       event.abandoned,
                                       {},
                                       {}});
  if (!check_queue_.push(job)) {
    // Only while stopping: the queue's capacity is far beyond the consumer's window.
    job->done(retry("ShuttingDown", "notification-sender is stopping"));
  }
}

void Notifier::check(std::vector<JobPtr>& jobs) {
  // Sent before but not logged (a failed log write): write the row, never send again.
  std::vector<JobPtr> unknown;
  for (auto& job : jobs) {
    if (auto entry = unlogged(job->entry.event_id)) {
      job->entry = std::move(*entry);
      to_write(job);
    } else if (job->is_abandoned()) {
      job->done(retry("Abandoned", "the record's partition was revoked: its next owner sends it"));
    } else {
      unknown.push_back(job);
    }
  }
  if (unknown.empty()) return;
  std::vector<std::string> ids;
  ids.reserve(unknown.size());
  for (const auto& job : unknown) ids.push_back(job->entry.event_id);
  // Our clock before the statement: the lease the database grants starts no earlier.
  std::vector<std::string> users;
  users.reserve(unknown.size());
  for (const auto& job : unknown) users.push_back(job->entry.user_id);
  const auto asked_at = Clock::now();
  core::Result<std::map<std::string, LinkedChat>> linked = core::make_error(core::ErrorCategory::internal, "unset", "");
  core::Result<std::map<std::string, Claim>> claims = core::make_error(core::ErrorCategory::internal, "unset", "");
  if (auto lease = pool_.acquire(); !lease) {
    claims = lease.error();
  } else if (linked = linked_chats(**lease, users); !linked) {
    claims = linked.error();  // nothing claimed yet: the retry starts over
  } else {
    claims = claim(**lease, ids, config_.claims.owner, config_.claims.lease);
  }
  if (!claims) {
    spdlog::warn("notification claims not writable: {}", claims.error().message);
    for (auto& job : unknown) job->done(events::outcome_for(claims.error(), component));
    return;
  }
  auto& metrics = Metrics::get();
  for (auto& job : unknown) {
    const auto found = claims->find(job->entry.event_id);
    const Claim c = found == claims->end() ? Claim{Claim::State::held, "", milliseconds(0)} : found->second;
    switch (c.state) {
      case Claim::State::done:
        metrics.claims.Add({{"result", "done"}}).Increment();
        metrics.finished(job->entry.event_type, "duplicate");
        job->done(events::Outcome::ok());
        continue;
      case Claim::State::held: {
        metrics.claims.Add({{"result", "held"}}).Increment();
        // Wait out the holder's lease (bounded): by then it has logged the event, or its
        // claim has expired and the retry takes it over.
        const auto wait = std::min(c.held_for + milliseconds(100), config_.claims.lease);
        job->done(events::Outcome::retry("paypipe.notification-sender.ClaimedElsewhere",
                                         "event " + job->entry.event_id + " is being sent by " +
                                             (c.holder.empty() ? std::string("another replica") : c.holder),
                                         wait));
        continue;
      }
      case Claim::State::taken_over: {
        metrics.claims.Add({{"result", "taken_over"}}).Increment();
        metrics.possible_duplicates.Increment();
        core::TraceScope scope(job->trace);
        core::log::warn({{core::log::key::event_id, job->entry.event_id}},
                        "took over the expired claim of {}; it may have sent the message already", c.holder);
        break;
      }
      case Claim::State::claimed: metrics.claims.Add({{"result", "claimed"}}).Increment(); break;
    }
    job->lease_ends = asked_at + config_.claims.lease;
    if (const auto chat = linked->find(job->entry.user_id); chat != linked->end()) {
      to_linked_chat(job->entry, job->notice, chat->second, config_.recipients, config_.templates);
    }
    if (job->entry.status == "SKIPPED") {
      to_write(job);
    } else if (job->is_abandoned()) {
      release(job);
      job->done(retry("Abandoned", "the record's partition was revoked: its next owner sends it"));
    } else {
      send(job);
    }
  }
}

void Notifier::send(const JobPtr& job) {
  auto& metrics = Metrics::get();
  metrics.waiting.Increment();
  gate_.submit(SendGate::Task{[this, job] {
                                Metrics::get().waiting.Decrement();
                                start_send(job);
                              },
                              [this, job] {
                                // Stopping, or let go while waiting: not sent.
                                Metrics::get().waiting.Decrement();
                                release(job);
                                job->done(job->is_abandoned()
                                              ? retry("Abandoned",
                                                      "the record's partition was revoked while it "
                                                      "waited at the gate: not sent")
                                              : retry("ShuttingDown", "notification-sender is stopping"));
                              },
                              [job] { return job->is_abandoned(); }});
}

void Notifier::start_send(const JobPtr& job) {
  if (job->is_abandoned()) {
    release(job);
    job->done(retry("Abandoned", "the record's partition was revoked: its next owner sends it"));
    return;
  }
  // A call must end before the lease does, or another replica could take the claim over
  // while it is on the wire. After a long wait at the gate, claim again instead.
  if (Clock::now() + config_.telegram.timeout >= job->lease_ends) {
    release(job);
    job->done(retry("LeaseRunningOut", "waited at the gate past the claim's lease: claiming again"));
    return;
  }
  Metrics::get().in_flight.Increment();
  job->send_started = Clock::now();
  telegram_.async_send(send_message_request(config_.telegram, *job->entry.chat_id, job->entry.text),
                       [this, job](core::Result<http::ClientResponse> answer) { on_answer(job, answer); });
}

void Notifier::release(const JobPtr& job) {
  // Best effort: a claim not released expires with its lease.
  (void)release_queue_.push(job->entry.event_id);
}

void Notifier::release_claims(std::vector<std::string>& event_ids) {
  core::Status released = core::make_error(core::ErrorCategory::internal, "unset", "");
  if (auto lease = pool_.acquire(); !lease) released = lease.error();
  else released = notification_sender::release_claims(**lease, event_ids, config_.claims.owner);
  if (!released)
    spdlog::warn("releasing {} claims failed (they expire): {}", event_ids.size(), released.error().message);
}

void Notifier::on_answer(const JobPtr& job, const core::Result<http::ClientResponse>& answer) {
  auto& metrics = Metrics::get();
  metrics.in_flight.Decrement();
  metrics.send_seconds.Observe(std::chrono::duration<double>(Clock::now() - job->send_started).count());
  auto verdict = classify_telegram(answer, config_.telegram.default_retry_after);
  if (verdict.outcome.succeeded()) {
    job->entry.telegram_message_id = verdict.message_id;
    to_write(job);
    return;
  }
  if (verdict.failure == SendFailure::rate_limited && verdict.retry_after) gate_.close_for(*verdict.retry_after);
  metrics.failures.Add({{"reason", to_string(verdict.failure)}}).Increment();
  if (verdict.maybe_sent) {
    // Telegram may have sent it: keep the claim (no other replica sends meanwhile); our
    // retry sends again (see telegram.hpp).
    metrics.maybe_sent.Add({{"reason", to_string(verdict.failure)}}).Increment();
  } else {
    release(job);  // nothing was sent
  }
  {
    core::TraceScope scope(job->trace);
    // The message names the status and Telegram's description, never the URL (it holds the token).
    core::log::warn({{core::log::key::event_id, job->entry.event_id}}, "sendMessage failed: {}",
                    verdict.outcome.message);
  }
  job->done(std::move(verdict.outcome));
}

void Notifier::to_write(const JobPtr& job) {
  if (write_queue_.push(job)) return;
  // Stopping: the message went out but its row cannot be written now.
  if (job->entry.status == "SENT") remember_unlogged(job->entry);
  job->done(retry("LogUnavailable", "stopping before the log row was written"));
}

void Notifier::write(std::vector<JobPtr>& jobs) {
  std::vector<LogEntry> entries;
  entries.reserve(jobs.size());
  for (const auto& job : jobs) entries.push_back(job->entry);
  // Twice: a connection dropped between two batches should not cost an event a retry.
  static const auto twice = events::RetryPolicy::constant(2, milliseconds(50));
  const auto written = events::retry(twice, events::never_stop(), [&] {
    auto lease = pool_.acquire();
    return events::Attempt<void>::again_on_any_error(lease ? record(**lease, entries) : core::Status(lease.error()));
  });
  auto& metrics = Metrics::get();
  if (!written) {
    metrics.log_write_failures.Increment();
    spdlog::error("notification log write of {} rows failed: {}", jobs.size(), written.error().message);
    for (auto& job : jobs) {
      if (job->entry.status == "SENT") remember_unlogged(job->entry);
      job->done(events::outcome_for(written.error(), component));
    }
    return;
  }
  for (auto& job : jobs) {
    forget_unlogged(job->entry.event_id);
    metrics.finished(job->entry.event_type, job->entry.status == "SENT" ? "sent" : "skipped");
    if (job->entry.status == "SKIPPED") count_skipped(job->entry.reason);
    job->done(events::Outcome::ok());
  }
}

void Notifier::remember_unlogged(const LogEntry& entry) {
  std::lock_guard lock(unlogged_mutex_);
  if (!unlogged_.emplace(entry.event_id, entry).second) return;
  unlogged_order_.push_back(entry.event_id);
  while (unlogged_order_.size() > unlogged_capacity) {
    unlogged_.erase(unlogged_order_.front());
    unlogged_order_.pop_front();
  }
}

std::optional<LogEntry> Notifier::unlogged(const std::string& event_id) {
  std::lock_guard lock(unlogged_mutex_);
  if (unlogged_.empty()) return std::nullopt;
  const auto it = unlogged_.find(event_id);
  if (it == unlogged_.end()) return std::nullopt;
  return it->second;
}

void Notifier::forget_unlogged(const std::string& event_id) {
  std::lock_guard lock(unlogged_mutex_);
  // Its id stays in the order list until evicted, which may evict a later entry of the
  // same id early: that costs at worst one repeated message, never a lost one.
  if (!unlogged_.empty()) unlogged_.erase(event_id);
}

void Notifier::stop() {
  shutting_down_ = true;
  gate_.stop();  // what waits releases its claim (the release queue still runs)
  check_queue_.stop();
  write_queue_.stop();
  release_queue_.stop();
}

}  // namespace paypipe::notification_sender
