#pragma once
// payment-api's HTTP endpoints:
//   POST /v1/payments                    pay an order (Idempotency-Key), answered after the commit
//   GET  /v1/payments/{paymentId}
//   POST /v1/wallets/{userId}/deposits   credit a wallet (Idempotency-Key): a service credential
//   GET  /v1/wallets/{userId}
// Every route needs a bearer token (libs/auth). The user is the token's sub: a user
// sees only their own wallet and payments (another's is 404) and pays only their own
// orders; payments are rate-limited per user. Deposits are what a payment provider's
// callback calls: a token with scope wallet:deposit or the admin token, never an
// end-user token (403).
// Payments go through a BatchQueue: requests that arrive together share one
// transaction (PaymentProcessor); the rest are plain handlers on the HTTP workers.

#include <memory>

#include "auth/authenticator.hpp"
#include "core/batch_queue.hpp"
#include "http/rate_limit.hpp"
#include "http/router.hpp"
#include "payment_api/config.hpp"
#include "payment_api/payment_processor.hpp"
#include "pg/pool.hpp"

namespace paypipe::payment_api {

class PaymentApi {
 public:
  // `live`: the hub of /v1/payments/stream (runtime::LiveUpdates); null: no stream route.
  PaymentApi(const Config& config, pg::Pool& pool, std::shared_ptr<const auth::Authenticator> authenticator,
             std::shared_ptr<http::StreamHub> live = nullptr);
  ~PaymentApi();  // stop()

  void add_routes(http::Router& router);
  // Answers what is queued, then stops taking payments.
  void stop();

 private:
  struct Job {
    PaymentRequest request;
    core::TraceContext trace;
    http::Responder respond;
  };
  void process(std::vector<Job>& jobs);

  pg::Pool& pool_;
  std::shared_ptr<const auth::Authenticator> authenticator_;
  std::shared_ptr<http::StreamHub> live_;
  std::shared_ptr<http::RateLimiter> limiter_;
  std::string admin_token_;
  std::string currency_;  // PAYPIPE_CURRENCY: new wallets are in it
  PaymentProcessor processor_;
  core::BatchQueue<Job> queue_;
};

}  // namespace paypipe::payment_api
