#include "coupon_issuer/http_api.hpp"

#include <spdlog/spdlog.h>

#include "contracts/coupon_requested.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "coupon_issuer/http_codecs.hpp"
#include "http/request.hpp"
#include "runtime/daemon.hpp"

namespace paypipe::coupon_issuer {

namespace {

constexpr const char* source = "/paypipe/coupon-issuer";

prometheus::Family<prometheus::Counter>& issue_requests() {
  static auto& family =
      prometheus::BuildCounter()
          .Name("coupon_issue_requests_total")
          .Help("POST .../issue answers: accepted (Kafka acknowledged), not-found (unknown coupon), unavailable")
          .Register(core::metrics::registry());
  return family;
}

http::Response unavailable(const std::string& detail) {
  return http::error_response(core::make_error(core::ErrorCategory::unavailable, "kafka-unavailable", detail));
}

http::Response coupon_not_found(const std::string& coupon_id) {
  return http::error_response(core::make_error(core::ErrorCategory::not_found, "coupon-not-found",
                                               "no coupon " + coupon_id + "; nothing was recorded"));
}

// Bounds the memory of remembered coupon ids; past it the set starts again (a lookup
// per coupon refills it).
constexpr std::size_t known_capacity = 100000;

http::Response accepted(const PendingRequest& request) {
  auto response = http::Response::json(202, accepted_json(request));
  response.headers.push_back({"Location", status_url(request.request_id)});
  return response;
}

}  // namespace

core::Result<std::unique_ptr<events::Producer>> open_request_producer(const Config& config) {
  events::ProducerSettings settings;
  settings.delivery_timeout = config.issue_ack_timeout;
  // Requests arrive one by one from many connections: a short linger batches them
  // without adding noticeable latency.
  settings.linger = std::chrono::milliseconds(1);
  settings.on_fatal = [](const core::Error&) { runtime::StopSignal::request_stop(70); };
  auto options = config.common.kafka;
  options.client_id = config.common.service + "-requests";
  return events::Producer::create(options, settings);
}

CouponApi::CouponApi(const Config& config, pg::Pool& pool, std::unique_ptr<events::Producer> request_producer,
                     std::shared_ptr<const auth::Authenticator> authenticator, std::shared_ptr<http::StreamHub> live)
    : pool_(pool),
      admin_token_(config.admin_token),
      live_(std::move(live)),
      authenticator_(std::move(authenticator)),
      limiter_(std::make_shared<http::RateLimiter>(config.rate_limit)),
      ack_timeout_(config.issue_ack_timeout),
      pending_({2, config.pending_batch_size, std::chrono::microseconds(0), 100000, "coupon-pending"},
               [this](std::vector<Acknowledged>& batch) { record(batch); }),
      producer_(std::move(request_producer)),
      // One worker: lookups finish in arrival order, so first come stays first served.
      lookups_({1, 256, std::chrono::microseconds(0), 100000, "coupon-lookup"},
               [this](std::vector<Lookup>& batch) { lookup(batch); }) {
  if (live_) {
    live_->on_delivered(
        [this](const std::string& user, const std::vector<http::StreamEvent>& events) { delivered(user, events); });
  }
}

void CouponApi::delivered(const std::string& user, const std::vector<http::StreamEvent>& events) {
  std::vector<std::string> decided;
  for (const auto& event : events) {
    auto data = core::json::parse(event.data);
    if (!data || !data->IsObject() || !data->HasMember("requestId") || !data->HasMember("status")) continue;
    const auto& status = (*data)["status"];
    if (status.IsString() && std::string_view(status.GetString()) != "PENDING" && (*data)["requestId"].IsString()) {
      decided.emplace_back((*data)["requestId"].GetString());
    }
  }
  if (decided.empty()) return;
  auto lease = pool_.acquire();
  const auto marked = lease ? mark_notified(**lease, user, decided) : core::Status(lease.error());
  if (!marked) spdlog::warn("marking {} coupon request(s) NOTIFIED: {}", decided.size(), marked.error().message);
}

CouponApi::~CouponApi() { stop(); }

void CouponApi::stop() {
  lookups_.stop();  // its last requests go to the producer before the flush
  if (auto s = producer_->flush(ack_timeout_ + std::chrono::milliseconds(500)); !s) {
    spdlog::warn("coupon requests still unacknowledged at stop: {}", s.error().message);
  }
  pending_.stop();
}

void CouponApi::record(std::vector<Acknowledged>& acknowledged) {
  std::vector<PendingRequest> requests;
  requests.reserve(acknowledged.size());
  for (const auto& a : acknowledged) requests.push_back(a.request);
  core::Status status;
  if (auto lease = pool_.acquire(); lease) {
    status = record_pending(**lease, requests);
  } else {
    status = lease.error();
  }
  // Kafka holds these requests, so they will be decided whatever happened here: the
  // answer is 202 either way; without the PENDING row the statusUrl answers 404 until
  // the decision is recorded.
  if (!status)
    spdlog::warn("could not record {} coupon requests as PENDING: {}", requests.size(), status.error().message);
  for (auto& a : acknowledged) a.respond(accepted(a.request));
  issue_requests().Add({{"answer", "accepted"}}).Increment(static_cast<double>(acknowledged.size()));
}

void CouponApi::issue(http::Request request, const auth::Claims& who, http::Responder respond) {
  auto parsed = parse_issue_request(request, who.subject);
  if (!parsed) {
    respond(http::error_response(parsed.error()));
    return;
  }
  PendingRequest pending{core::new_uuid_v7(), parsed->coupon_id, parsed->user_id, core::now_rfc3339()};
  if (known(pending.coupon_id)) {
    produce(pending, respond);
    return;
  }
  // Not known here yet: look it up off the I/O thread.
  if (!lookups_.push(Lookup{pending, respond})) {
    issue_requests().Add({{"answer", "unavailable"}}).Increment();
    respond(http::error_response(core::make_error(core::ErrorCategory::unavailable, "coupon-lookup-unavailable",
                                                  "too many requests waiting; nothing was recorded, retry later")));
  }
}

bool CouponApi::known(const std::string& coupon_id) const {
  std::lock_guard lock(known_mutex_);
  return known_.count(coupon_id) > 0;
}

void CouponApi::remember(const std::string& coupon_id) {
  std::lock_guard lock(known_mutex_);
  if (known_.size() >= known_capacity) known_.clear();
  known_.insert(coupon_id);
}

void CouponApi::lookup(std::vector<Lookup>& batch) {
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const auto& l : batch) ids.push_back(l.request.coupon_id);
  core::Result<std::set<std::string>> found = core::make_error(core::ErrorCategory::internal, "unset", "");
  if (auto lease = pool_.acquire(); !lease) found = lease.error();
  else found = existing_coupons(**lease, ids);
  if (!found) {
    // Nothing was sent: the client may retry as it is.
    spdlog::warn("coupon lookup of {} requests failed: {}", batch.size(), found.error().message);
    issue_requests().Add({{"answer", "unavailable"}}).Increment(static_cast<double>(batch.size()));
    for (auto& l : batch) l.respond(http::error_response(found.error()));
    return;
  }
  for (auto& l : batch) {
    if (found->count(l.request.coupon_id) == 0) {
      issue_requests().Add({{"answer", "not-found"}}).Increment();
      l.respond(coupon_not_found(l.request.coupon_id));
      continue;
    }
    remember(l.request.coupon_id);
    produce(l.request, l.respond);
  }
}

void CouponApi::produce(const PendingRequest& pending, const http::Responder& respond) {
  const contracts::CouponRequested data{pending.request_id, pending.coupon_id, pending.user_id, pending.requested_at};
  // Keyed by coupon id: every request for one coupon lands in one partition and is
  // decided in arrival order by one consumer, with no lock.
  const auto event = events::make_event(source, pending.coupon_id, data);
  auto sent = producer_->send_event(event, [this, pending, respond](const events::Delivery& delivery) {
    // On the producer's poll thread: hand over, never block here.
    if (!delivery.status && delivery.possibly_persisted) {
      // Sent, but not acknowledged: it may be decided all the same. Say so, and where to look.
      issue_requests().Add({{"answer", "unknown"}}).Increment();
      spdlog::warn("coupon request {} sent but not acknowledged by Kafka, its outcome is unknown: {}",
                   pending.request_id, delivery.status.error().message);
      auto response = unavailable("Kafka did not acknowledge request " + pending.request_id +
                                  " in time; it may still be decided: " + status_url(pending.request_id) +
                                  " will show it if so (a retry for the same user is safe: a user gets one coupon)");
      response.headers.push_back({"Location", status_url(pending.request_id)});
      respond(std::move(response));
      return;
    }
    if (!delivery.status) {
      issue_requests().Add({{"answer", "unavailable"}}).Increment();
      spdlog::warn("coupon request {} not acknowledged by Kafka: {}", pending.request_id,
                   delivery.status.error().message);
      respond(unavailable("Kafka did not take the request; nothing was recorded, retry later"));
      return;
    }
    if (!pending_.push(Acknowledged{pending, respond})) respond(accepted(pending));
  });
  if (!sent) {
    issue_requests().Add({{"answer", "unavailable"}}).Increment();
    if (sent.error().category == core::ErrorCategory::unavailable) {
      respond(unavailable("Kafka cannot take the request now; nothing was recorded, retry later"));
    } else {
      respond(http::error_response(sent.error()));
    }
  }
}

void CouponApi::add_routes(http::Router& router) {
  router.post("/v1/coupons", http::admin_only(admin_token_, [this](const http::Request& request) {
                auto coupon = parse_new_coupon(request);
                if (!coupon) return http::error_response(coupon.error());
                auto lease = pool_.acquire();
                if (!lease) return http::error_response(lease.error());
                auto created = create_coupon(**lease, core::new_uuid_v7(), *coupon);
                if (!created) return http::error_response(created.error());
                remember(created->id);
                auto response = http::Response::json(201, coupon_json(*created));
                response.headers.push_back({"Location", "/v1/coupons/" + created->id});
                return response;
              }));

  router.get("/v1/coupons/{couponId}",
             auth::user_route(authenticator_, [this](const http::Request& request, const auth::Claims&) {
               auto id = uuid_param(request, "couponId");
               if (!id) return http::error_response(id.error());
               auto lease = pool_.acquire();
               if (!lease) return http::error_response(lease.error());
               auto coupon = find_coupon(**lease, *id);
               if (!coupon) return http::error_response(coupon.error());
               if (!*coupon) {
                 return http::error_response(
                     core::make_error(core::ErrorCategory::not_found, "coupon-not-found", "no coupon " + *id));
               }
               return http::Response::json(200, coupon_json(**coupon));
             }));

  router.add_async("POST", "/v1/coupons/{couponId}/issue",
                   auth::async_user_route(
                       authenticator_,
                       [this](http::Request request, auth::Claims who, http::Responder respond) {
                         issue(std::move(request), who, std::move(respond));
                       },
                       limiter_));

  // Before /v1/coupon-requests/{requestId}, which "stream" would match too.
  if (live_) router.stream(std::string(request_stream_path), auth::user_stream(authenticator_, live_));
  router.get("/v1/coupon-requests/{requestId}",
             auth::user_route(authenticator_, [this](const http::Request& request, const auth::Claims& who) {
               auto id = uuid_param(request, "requestId");
               if (!id) return http::error_response(id.error());
               auto lease = pool_.acquire();
               if (!lease) return http::error_response(lease.error());
               auto found = find_request(**lease, *id);
               if (!found) return http::error_response(found.error());
    // Another user's request answers exactly as a missing one.
               if (!*found || (*found)->user_id != who.subject) {
                 return http::error_response(core::make_error(core::ErrorCategory::not_found,
                                                              "coupon-request-not-found", "no coupon request " + *id));
               }
               return http::Response::json(200, request_json(**found));
             }));

  router.get("/v1/users/{userId}/coupons",
             auth::user_route(authenticator_, [this](const http::Request& request, const auth::Claims& who) {
               auto user = user_param(request);
               if (!user) return http::error_response(user.error());
               if (*user != who.subject) {
                 return http::error_response(core::make_error(core::ErrorCategory::not_found, "user-not-found",
                                                              "no coupons to show for user " + *user));
               }
               auto limit = limit_param(request, 100, 1000);
               if (!limit) return http::error_response(limit.error());
               auto lease = pool_.acquire();
               if (!lease) return http::error_response(lease.error());
               auto held = user_coupons(**lease, *user, *limit);
               if (!held) return http::error_response(held.error());
               return http::Response::json(200, user_coupons_json(*user, *held));
             }));
}

}  // namespace paypipe::coupon_issuer
