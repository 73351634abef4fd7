#pragma once
// order-processor's HTTP endpoints (proto/http/order-processor.yaml):
//   POST /v1/products                         create a product with its stock (admin)
//   GET  /v1/products/{productId}             the product and its stock
//   POST /v1/orders                           place an order: stock held, PENDING_PAYMENT (Idempotency-Key optional)
//   GET  /v1/orders/stream                    the user's order updates live: SSE, or WebSocket on upgrade
//   GET  /v1/orders/{orderId}                 status, description, progress, cancellable, items, totals
//   POST /v1/orders/{orderId}/cancel          the user cancels an unpaid order
//   POST /v1/orders/{orderId}/refund          the user asks for the refund of a paid order not yet shipped
//   POST /v1/orders/{orderId}/fulfilment      advance a shipping order (admin)
//   POST /v1/admin/orders/{orderId}/refund    refund any paid order (admin)
//   POST /v1/admin/expiry-sweeps              expire every due order now (admin)
// Every route needs a token: the admin token on the admin routes, an end-user bearer
// token (libs/auth) on the rest. The user is the token's sub; another user's order is
// 404 (its owner is never shown); placing and cancelling are rate-limited per user.
// Orders go through a BatchQueue: requests that arrive together share one transaction
// (place_orders), each answered after its commit. The rest are plain handlers on the
// HTTP workers, each write one transaction.

#include "auth/http_auth.hpp"
#include "core/batch_queue.hpp"
#include "http/router.hpp"
#include "order_processor/config.hpp"
#include "order_processor/expiry_sweeper.hpp"
#include "order_processor/order_store.hpp"
#include "pg/pool.hpp"

namespace paypipe::order_processor {

class OrderApi {
 public:
  // `live`: the hub of /v1/orders/stream (runtime::LiveUpdates); null: no stream route.
  OrderApi(const Config& config, pg::Pool& pool, ExpirySweeper& sweeper,
           std::shared_ptr<const auth::Authenticator> authenticator, std::shared_ptr<http::StreamHub> live = nullptr);
  ~OrderApi();  // stop()

  void add_routes(http::Router& router);
  // Answers what is queued, then stops taking orders.
  void stop();

 private:
  struct Job {
    OrderRequest request;
    core::TraceContext trace;
    http::Responder respond;
  };
  void process(std::vector<Job>& jobs);

  http::Response create_product(const http::Request& request);
  http::Response get_product(const http::Request& request);
  void place(http::Request request, const auth::Claims& who, http::Responder respond);
  http::Response get_order(const http::Request& request, const auth::Claims& who);
  http::Response cancel(const http::Request& request, const auth::Claims& who);
  http::Response refund(const http::Request& request, const auth::Claims& who);
  http::Response admin_refund(const http::Request& request);
  http::Response advance(const http::Request& request);
  http::Response sweep();

  pg::Pool& pool_;
  ExpirySweeper& sweeper_;
  OrderSettings order_settings_;
  std::chrono::milliseconds refund_window_;
  std::string admin_token_;
  std::shared_ptr<const auth::Authenticator> authenticator_;
  std::shared_ptr<http::RateLimiter> limiter_;
  std::shared_ptr<http::StreamHub> live_;
  core::BatchQueue<Job> queue_;  // last: its workers stop first
};

}  // namespace paypipe::order_processor
