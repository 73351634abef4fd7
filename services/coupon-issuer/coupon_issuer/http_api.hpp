#pragma once
// coupon-issuer's HTTP endpoints:
//   POST /v1/coupons                        create a coupon (admin token)
//   GET  /v1/coupons/{couponId}             the coupon and its remaining stock
//   POST /v1/coupons/{couponId}/issue       ask for it: 202 once Kafka has the request
//   GET  /v1/coupon-requests/stream         the user's requests live: SSE, or WebSocket on upgrade
//   GET  /v1/coupon-requests/{requestId}    PENDING, ISSUED or REJECTED with the reason
//   GET  /v1/users/{userId}/coupons         the coupons a user holds
// Every route but POST /v1/coupons needs an end-user bearer token (libs/auth): the user
// is the token's sub, asks for coupons only for themself (rate-limited per user) and
// sees only their own requests and coupons (another user's are 404).
//
// POST .../issue never blocks an HTTP worker: the handler produces coupon.requested
// (key = coupon id, acks=all) and returns; Kafka's delivery report answers it. If
// Kafka does not acknowledge within PAYPIPE_COUPON_ISSUE_ACK_TIMEOUT_MS (the request
// producer's message timeout) the answer is 503 and nothing was written anywhere.
// After the acknowledgement the request is recorded as PENDING (batched, never over a
// decision) and only then answered 202, so its statusUrl answers at once.
//
// A coupon this process does not know is looked up first (batched, one indexed SELECT
// on a lookup thread, never on the I/O thread): an unknown coupon is answered 404 with
// nothing produced or recorded, so a stranger's request for a made-up coupon costs no
// Kafka record, no row and no coupon.rejected message. Known ids are remembered (coupons
// are never deleted); unknown ones are not, since another replica may create them.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "auth/http_auth.hpp"
#include "core/batch_queue.hpp"
#include "coupon_issuer/config.hpp"
#include "coupon_issuer/coupon_store.hpp"
#include "events/producer.hpp"
#include "http/router.hpp"
#include "pg/pool.hpp"

namespace paypipe::coupon_issuer {

// The producer of coupon.requested: idempotent, acks=all, and a message timeout of
// config.issue_ack_timeout, so a request Kafka cannot take in time fails, and is not
// kept to be delivered after its 503. A fatal producer error stops the process (70).
core::Result<std::unique_ptr<events::Producer>> open_request_producer(const Config& config);

class CouponApi {
 public:
  // `live`: the hub of /v1/coupon-requests/stream (runtime::LiveUpdates); null: no
  // stream route. A decision the hub writes to its user's socket marks the request
  // NOTIFIED (notified_at).
  CouponApi(const Config& config, pg::Pool& pool, std::unique_ptr<events::Producer> request_producer,
            std::shared_ptr<const auth::Authenticator> authenticator, std::shared_ptr<http::StreamHub> live = nullptr);
  ~CouponApi();  // stop()

  void add_routes(http::Router& router);
  // Waits (bounded by the ack timeout) for Kafka's answers to the requests in flight,
  // answers them, then stops recording. Idempotent.
  void stop();

  events::Producer& request_producer() { return *producer_; }

 private:
  struct Acknowledged {
    PendingRequest request;
    http::Responder respond;
  };
  struct Lookup {
    PendingRequest request;
    http::Responder respond;
  };
  void issue(http::Request request, const auth::Claims& who, http::Responder respond);
  void lookup(std::vector<Lookup>& batch);
  void produce(const PendingRequest& pending, const http::Responder& respond);
  void record(std::vector<Acknowledged>& acknowledged);
  bool known(const std::string& coupon_id) const;
  void delivered(const std::string& user, const std::vector<http::StreamEvent>& events);
  void remember(const std::string& coupon_id);

  pg::Pool& pool_;
  std::string admin_token_;
  std::shared_ptr<http::StreamHub> live_;
  std::shared_ptr<const auth::Authenticator> authenticator_;
  std::shared_ptr<http::RateLimiter> limiter_;
  std::chrono::milliseconds ack_timeout_;
  core::BatchQueue<Acknowledged> pending_;
  // Declared after pending_, so it is destroyed first: its flush runs the last
  // delivery callbacks while the queue they push into still exists.
  std::unique_ptr<events::Producer> producer_;
  mutable std::mutex known_mutex_;
  std::unordered_set<std::string> known_;  // coupon ids seen to exist
  // Declared last, so it is destroyed first: its workers produce through producer_.
  core::BatchQueue<Lookup> lookups_;
};

}  // namespace paypipe::coupon_issuer
