#include "data_platform_forwarder/forwarder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"

namespace paypipe::data_platform_forwarder {

using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view component = "data-platform-forwarder";

struct Metrics {
  prometheus::Family<prometheus::Counter>& deliveries;
  prometheus::Family<prometheus::Counter>& failures;
  prometheus::Gauge& in_flight;
  prometheus::Histogram& send_seconds;
  prometheus::Counter& log_failures;
  prometheus::Counter& possible_duplicates;
  prometheus::Family<prometheus::Counter>& claims;

  static Metrics& get() {
    auto& r = core::metrics::registry();
    static auto& deliveries =
        prometheus::BuildCounter()
            .Name("webhook_deliveries_total")
            .Help("Tries finished, by resulting state (completed, failed, dead_letter) or duplicate")
            .Register(r);
    static auto& failures =
        prometheus::BuildCounter().Name("webhook_failures_total").Help("Failed webhook calls, by reason").Register(r);
    static auto& in_flight =
        prometheus::BuildGauge().Name("webhook_sends_in_flight").Help("Webhook calls on the wire").Register(r).Add({});
    static auto& send_seconds = prometheus::BuildHistogram()
                                    .Name("webhook_send_duration_seconds")
                                    .Help("One webhook call, from start to answer")
                                    .Register(r)
                                    .Add({}, core::metrics::latency_buckets());
    static auto& log_failures = prometheus::BuildCounter()
                                    .Name("webhook_log_failures_total")
                                    .Help("Batches of delivery-log statements that failed")
                                    .Register(r)
                                    .Add({});
    static auto& possible_duplicates =
        prometheus::BuildCounter()
            .Name("webhook_possible_duplicates_total")
            .Help(
                "Deliveries whose claim was taken over from another owner after its lease expired: that owner "
                "may have delivered (died after the call, before COMPLETED)")
            .Register(r)
            .Add({});
    static auto& claims = prometheus::BuildCounter()
                              .Name("webhook_claims_total")
                              .Help("Claims asked for before a try, by result (claimed, taken_over, held, completed)")
                              .Register(r);
    static Metrics m{deliveries, failures, in_flight, send_seconds, log_failures, possible_duplicates, claims};
    return m;
  }
};

events::Outcome retry(std::string_view name, std::string message) {
  return events::Outcome::retry("paypipe." + std::string(component) + "." + std::string(name), std::move(message));
}

const char* metric_label(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::completed: return "completed";
    case DeliveryStatus::dead_letter: return "dead_letter";
    default: return "failed";
  }
}

}  // namespace

Forwarder::Forwarder(const Config& config, pg::Pool& pool, http::Client& client)
    : config_(config),
      pool_(pool),
      client_(client),
      start_queue_({config.claims.db_workers, config.claims.db_batch_size, std::chrono::microseconds(0), 1'000'000,
                    "forward-start"},
                   [this](std::vector<JobPtr>& jobs) { start(jobs); }),
      end_queue_({config.claims.db_workers, config.claims.db_batch_size, std::chrono::microseconds(0), 1'000'000,
                  "forward-end"},
                 [this](std::vector<JobPtr>& jobs) { end(jobs); }) {
  Metrics::get();
}

Forwarder::~Forwarder() { stop(); }

void Forwarder::handle(const events::ConsumedEvent& consumed, events::OutcomeCallback done) {
  if (stopping_) {
    done(retry("ShuttingDown", "data-platform-forwarder is stopping"));
    return;
  }
  const auto& event = consumed.event;
  if (!core::is_uuid(event.id)) {
    done(events::Outcome::fail("paypipe.data-platform-forwarder.BadEventId", "ce_id is not a UUID"));
    return;
  }
  auto job = std::make_shared<Job>();
  if (consumed.is_abandoned()) {
    done(retry("Abandoned", "the record's partition was revoked: its next owner delivers it"));
    return;
  }
  job->start = TryStart{event.id, event.type, event.key};
  job->abandoned = consumed.abandoned;
  job->request = webhook_request(config_.webhook, event);
  job->last_try = consumed.last_try;
  job->trace = core::current_trace();
  {
    std::lock_guard lock(running_mutex_);
    if (!running_.insert(event.id).second) {
      done(retry("RunningHere", "another job of this process is delivering this event"));
      return;
    }
  }
  // Every way a job ends goes through `done`: the id is free again for this process.
  job->done = [this, id = event.id, done = std::move(done)](events::Outcome outcome) {
    {
      std::lock_guard lock(running_mutex_);
      running_.erase(id);
    }
    done(std::move(outcome));
  };
  if (!start_queue_.push(job)) job->done(retry("ShuttingDown", "data-platform-forwarder is stopping"));
}

void Forwarder::start(std::vector<JobPtr>& all) {
  std::vector<JobPtr> jobs;
  for (auto& job : all) {
    if (job->is_abandoned())
      job->done(retry("Abandoned", "the record's partition was revoked: its next owner delivers it"));
    else jobs.push_back(job);
  }
  if (jobs.empty()) return;
  std::vector<TryStart> tries;
  tries.reserve(jobs.size());
  for (const auto& job : jobs) tries.push_back(job->start);
  // Our clock before the statement: the lease the database grants starts no earlier.
  const auto asked_at = Clock::now();
  core::Result<std::map<std::string, TryClaim>> started = core::make_error(core::ErrorCategory::internal, "unset", "");
  if (auto lease = pool_.acquire(); !lease) started = lease.error();
  else started = start_tries(**lease, tries, config_.claims.owner, config_.claims.lease);
  auto& metrics = Metrics::get();
  if (!started) {
    metrics.log_failures.Increment();
    spdlog::warn("delivery log not writable: {}", started.error().message);
    // Nothing was sent: the runtime retries these tries later.
    for (auto& job : jobs) job->done(events::outcome_for(started.error(), component));
    return;
  }
  for (auto& job : jobs) {
    const auto it = started->find(job->start.event_id);
    const TryClaim claim = it == started->end() ? TryClaim{TryClaim::State::held, 0, "", std::chrono::milliseconds(0)}
                                                : it->second;
    switch (claim.state) {
      case TryClaim::State::completed:
        metrics.claims.Add({{"result", "completed"}}).Increment();
        metrics.deliveries.Add({{"result", "duplicate"}}).Increment();
        job->done(events::Outcome::ok());  // COMPLETED before: not sent again
        continue;
      case TryClaim::State::held: {
        metrics.claims.Add({{"result", "held"}}).Increment();
        const auto wait = std::min(claim.held_for + std::chrono::milliseconds(100), config_.claims.lease);
        job->done(events::Outcome::retry("paypipe.data-platform-forwarder.ClaimedElsewhere",
                                         "event " + job->start.event_id + " is being delivered by " +
                                             (claim.holder.empty() ? std::string("another replica") : claim.holder),
                                         wait));
        continue;
      }
      case TryClaim::State::taken_over: {
        metrics.claims.Add({{"result", "taken_over"}}).Increment();
        metrics.possible_duplicates.Increment();
        core::TraceScope scope(job->trace);
        core::log::warn({{core::log::key::event_id, job->start.event_id}},
                        "took over the expired claim of {}; it may have delivered already", claim.holder);
        break;
      }
      case TryClaim::State::claimed: metrics.claims.Add({{"result", "claimed"}}).Increment(); break;
    }
    job->attempt = claim.attempt;
    job->lease_ends = asked_at + config_.claims.lease;
    send(job);
  }
}

void Forwarder::send(const JobPtr& job) {
  if (job->is_abandoned()) {
    end_unsent(job, "Abandoned", "the record's partition was revoked: its next owner delivers it");
    return;
  }
  // The call must end before the lease does, or another replica could take the claim
  // over while it is on the wire.
  if (Clock::now() + config_.webhook.timeout >= job->lease_ends) {
    end_unsent(job, "LeaseRunningOut", "the claim's lease would not cover the call: claiming again");
    return;
  }
  Metrics::get().in_flight.Increment();
  job->send_started = Clock::now();
  client_.async_send(job->request, [this, job](core::Result<http::ClientResponse> answer) { on_answer(job, answer); });
}

void Forwarder::end_unsent(const JobPtr& job, std::string name, std::string why) {
  // Ends the claimed try without a call: the row goes back to FAILED with the claim
  // cleared, so the next runner need not wait out the lease.
  job->not_sent = true;
  job->verdict = WebhookVerdict{retry(name, std::move(why)), "not_sent", std::nullopt};
  if (!end_queue_.push(job)) job->done(job->verdict.outcome);
}

void Forwarder::on_answer(const JobPtr& job, const core::Result<http::ClientResponse>& answer) {
  auto& metrics = Metrics::get();
  metrics.in_flight.Decrement();
  metrics.send_seconds.Observe(std::chrono::duration<double>(Clock::now() - job->send_started).count());
  job->verdict = classify_webhook(answer, config_.webhook.max_retry_after);
  if (!job->verdict.outcome.succeeded()) {
    metrics.failures.Add({{"reason", job->verdict.reason}}).Increment();
    core::TraceScope scope(job->trace);
    // The URL is never logged: it may carry credentials of its own.
    core::log::warn({{core::log::key::event_id, job->start.event_id}}, "webhook try {} failed: {}", job->attempt,
                    job->verdict.outcome.message);
  }
  if (!end_queue_.push(job)) {
    // Stopping: the row keeps IN_PROGRESS; the record, not committed, is redelivered.
    job->done(job->verdict.outcome.succeeded() ? retry("ShuttingDown", "stopping before the log was written")
                                               : job->verdict.outcome);
  }
}

void Forwarder::end(std::vector<JobPtr>& jobs) {
  std::vector<TryEnd> ends;
  ends.reserve(jobs.size());
  std::vector<DeliveryStatus> statuses;
  for (const auto& job : jobs) {
    // A try that never called ends FAILED whatever its number: the runtime hands the
    // record to the partition's next owner, not to the dead-letter topic.
    const auto status = job->not_sent ? DeliveryStatus::failed : status_after(job->verdict.outcome, job->last_try);
    statuses.push_back(status);
    ends.push_back(TryEnd{job->start.event_id, status, job->verdict.http_status,
                          job->verdict.outcome.succeeded()
                              ? std::string()
                              : job->verdict.outcome.error_class + ": " + job->verdict.outcome.message});
  }
  core::Status written = core::make_error(core::ErrorCategory::internal, "unset", "");
  if (auto lease = pool_.acquire(); !lease) written = lease.error();
  else written = end_tries(**lease, ends, config_.claims.owner);
  auto& metrics = Metrics::get();
  if (!written) {
    metrics.log_failures.Increment();
    spdlog::error("delivery log update of {} tries failed: {}", jobs.size(), written.error().message);
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto& job = jobs[i];
    if (!job->not_sent) metrics.deliveries.Add({{"result", metric_label(statuses[i])}}).Increment();
    if (!written && job->verdict.outcome.succeeded()) {
      // Delivered, but the log cannot say so: try again later. The webhook sees the same
      // Idempotency-Key and can drop the repeat.
      job->done(events::outcome_for(written.error(), component));
    } else {
      job->done(job->verdict.outcome);
    }
  }
}

void Forwarder::stop() {
  stopping_ = true;
  start_queue_.stop();
  end_queue_.stop();
}

}  // namespace paypipe::data_platform_forwarder
