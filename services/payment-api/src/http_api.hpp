#pragma once
// payment-api's HTTP endpoints:
//   POST /v1/payments                    pay an order (Idempotency-Key), answered after the commit
//   GET  /v1/payments/{paymentId}
//   POST /v1/wallets/{userId}/deposits   credit a wallet (Idempotency-Key)
//   GET  /v1/wallets/{userId}
// Payments go through a BatchQueue: requests that arrive together share one
// transaction (PaymentProcessor); the rest are plain handlers on the HTTP workers.

#include <memory>

#include "core/batch_queue.hpp"
#include "http/router.hpp"
#include "pg/pool.hpp"
#include "src/config.hpp"
#include "src/payment_processor.hpp"

namespace paypipe::payment_api {

class PaymentApi {
 public:
  PaymentApi(const Config& config, pg::Pool& pool);
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
  std::string currency_;  // PAYPIPE_CURRENCY: new wallets are in it
  PaymentProcessor processor_;
  core::BatchQueue<Job> queue_;
};

}  // namespace paypipe::payment_api
