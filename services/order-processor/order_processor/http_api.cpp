#include "order_processor/http_api.hpp"

#include "http/request.hpp"
#include "order_processor/http_codecs.hpp"

namespace paypipe::order_processor {

namespace {

http::Response order_not_found(const std::string& id) {
  return http::error_response(core::make_error(core::ErrorCategory::not_found, "order-not-found", "no order " + id));
}

}  // namespace

OrderApi::OrderApi(const Config& config, pg::Pool& pool, ExpirySweeper& sweeper,
                   std::shared_ptr<const auth::Authenticator> authenticator, std::shared_ptr<http::StreamHub> live)
    : pool_(pool),
      sweeper_(sweeper),
      order_settings_{config.order_ttl, config.currency},
      refund_window_(config.refund_window),
      admin_token_(config.admin_token),
      authenticator_(std::move(authenticator)),
      limiter_(std::make_shared<http::RateLimiter>(config.rate_limit)),
      live_(std::move(live)),
      queue_({config.workers, config.batch_size, config.batch_linger, config.queue_limit, "order-batch"},
             [this](std::vector<Job>& jobs) { process(jobs); }) {}

OrderApi::~OrderApi() { stop(); }

void OrderApi::stop() { queue_.stop(); }

void OrderApi::process(std::vector<Job>& jobs) {
  std::vector<OrderRequest> requests;
  std::vector<core::TraceContext> traces;
  requests.reserve(jobs.size());
  traces.reserve(jobs.size());
  for (auto& job : jobs) {
    requests.push_back(std::move(job.request));
    traces.push_back(job.trace);
  }
  std::vector<core::Result<PlacedOrder>> results;
  if (auto lease = pool_.acquire()) {
    results = place_orders(**lease, requests, traces, order_settings_, core::now_ms());
  } else {
    results.assign(jobs.size(), lease.error());
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& placed = results[i];
    if (!placed) {
      jobs[i].respond(http::error_response(placed.error()));
      continue;
    }
    auto response = http::Response::json(201, order_json(placed->order));
    response.headers.push_back({"Location", "/v1/orders/" + placed->order.id});
    if (placed->replayed) response.headers.push_back({"Idempotent-Replayed", "true"});
    jobs[i].respond(std::move(response));
  }
}

void OrderApi::add_routes(http::Router& router) {
  // Before /v1/orders/{orderId}, which "stream" would match too.
  if (live_) router.stream(std::string(order_stream_path), auth::user_stream(authenticator_, live_));
  router.post("/v1/products",
              http::admin_only(admin_token_, [this](const http::Request& r) { return create_product(r); }));
  router.get(
      "/v1/products/{productId}",
      auth::user_route(authenticator_, [this](const http::Request& r, const auth::Claims&) { return get_product(r); }));
  router.add_async("POST", "/v1/orders",
                   auth::async_user_route(
                       authenticator_,
                       [this](http::Request r, auth::Claims who, http::Responder respond) {
                         place(std::move(r), who, std::move(respond));
                       },
                       limiter_));
  router.get("/v1/orders/{orderId}",
             auth::user_route(authenticator_,
                              [this](const http::Request& r, const auth::Claims& who) { return get_order(r, who); }));
  router.post("/v1/orders/{orderId}/cancel",
              auth::user_route(
                  authenticator_, [this](const http::Request& r, const auth::Claims& who) { return cancel(r, who); },
                  limiter_));
  router.post("/v1/orders/{orderId}/refund",
              auth::user_route(
                  authenticator_, [this](const http::Request& r, const auth::Claims& who) { return refund(r, who); },
                  limiter_));
  router.post("/v1/admin/orders/{orderId}/refund",
              http::admin_only(admin_token_, [this](const http::Request& r) { return admin_refund(r); }));
  router.post("/v1/orders/{orderId}/fulfilment",
              http::admin_only(admin_token_, [this](const http::Request& r) { return advance(r); }));
  router.post("/v1/admin/expiry-sweeps",
              http::admin_only(admin_token_, [this](const http::Request&) { return sweep(); }));
}

http::Response OrderApi::create_product(const http::Request& request) {
  auto spec = parse_product_spec(request);
  if (!spec) return http::error_response(spec.error());
  auto lease = pool_.acquire();
  if (!lease) return http::error_response(lease.error());
  auto written = order_processor::create_product(**lease, *spec, order_settings_.currency);
  if (!written) return http::error_response(written.error());
  return http::Response::json(written->created ? 201 : 200, product_json(written->product));
}

http::Response OrderApi::get_product(const http::Request& request) {
  auto id = product_id_param(request);
  if (!id) return http::error_response(id.error());
  auto lease = pool_.acquire();
  if (!lease) return http::error_response(lease.error());
  auto product = find_product(**lease, *id);
  if (!product) return http::error_response(product.error());
  if (!*product) {
    return http::error_response(
        core::make_error(core::ErrorCategory::not_found, "product-not-found", "no product " + *id));
  }
  return http::Response::json(200, product_json(**product));
}

void OrderApi::place(http::Request request, const auth::Claims& who, http::Responder respond) {
  auto parsed = parse_order_request(request, who.subject);
  if (!parsed) {
    respond(http::error_response(parsed.error()));
    return;
  }
  if (!queue_.push(Job{std::move(parsed).value(), request.trace, respond})) {
    respond(http::error_response(core::make_error(core::ErrorCategory::unavailable, "overloaded",
                                                  "too many orders in flight; retry (with an Idempotency-Key)")));
  }
}

http::Response OrderApi::get_order(const http::Request& request, const auth::Claims& who) {
  auto id = order_id_param(request);
  if (!id) return http::error_response(id.error());
  auto lease = pool_.acquire();
  if (!lease) return http::error_response(lease.error());
  auto order = find_order(**lease, *id);
  if (!order) return http::error_response(order.error());
  // Another user's order answers exactly as a missing one: its owner is never shown.
  if (!*order || (*order)->user_id != who.subject) return order_not_found(*id);
  return http::Response::json(200, order_json(**order));
}

namespace {

// Locks the order, decides with `decide` and writes the decision, in one transaction.
// `owner`, when given, must own the order: another user's order is not found.
template <typename Decide>
http::Response change_order(pg::Pool& pool, const std::string& id, const std::string* owner, Decide&& decide) {
  auto lease = pool.acquire();
  if (!lease) return http::error_response(lease.error());
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return http::error_response(tx.error());
  auto order = lock_order(*tx, id);
  if (!order) return http::error_response(order.error());
  if (!*order || (owner != nullptr && (*order)->user_id != *owner)) return order_not_found(id);
  core::Result<Decision> decision = decide(**order);
  if (!decision) return http::error_response(decision.error());
  auto after = apply_decision(*tx, **order, *decision, std::nullopt, core::now_ms());
  if (!after) return http::error_response(after.error());
  if (auto s = tx->commit(); !s) return http::error_response(s.error());
  return http::Response::json(200, order_json(*after));
}

}  // namespace

http::Response OrderApi::cancel(const http::Request& request, const auth::Claims& who) {
  auto id = order_id_param(request);
  if (!id) return http::error_response(id.error());
  auto user_id = parse_cancel_request(request, who.subject);
  if (!user_id) return http::error_response(user_id.error());
  return change_order(pool_, *id, &*user_id, [&](const Order& order) { return decide_user_cancel(order, *user_id); });
}

// Both refunds answer the order as it now is: REFUND_REQUESTED while payment-api
// credits the wallet, REFUNDED after; asking again changes nothing and answers the same.
http::Response OrderApi::refund(const http::Request& request, const auth::Claims& who) {
  auto id = order_id_param(request);
  if (!id) return http::error_response(id.error());
  auto user_id = parse_cancel_request(request, who.subject);
  if (!user_id) return http::error_response(user_id.error());
  return change_order(pool_, *id, &*user_id, [&](const Order& order) {
    return decide_user_refund(order, *user_id, core::now_ms(), refund_window_);
  });
}

http::Response OrderApi::admin_refund(const http::Request& request) {
  auto id = order_id_param(request);
  if (!id) return http::error_response(id.error());
  return change_order(pool_, *id, nullptr, [](const Order& order) { return decide_admin_refund(order); });
}

http::Response OrderApi::advance(const http::Request& request) {
  auto id = order_id_param(request);
  if (!id) return http::error_response(id.error());
  auto target = parse_fulfilment_request(request);
  if (!target) return http::error_response(target.error());
  return change_order(pool_, *id, nullptr, [&](const Order& order) { return decide_fulfilment(order, *target); });
}

http::Response OrderApi::sweep() {
  auto expired = sweeper_.sweep_now();
  if (!expired) return http::error_response(expired.error());
  return http::Response::json(200, sweep_json(*expired));
}

}  // namespace paypipe::order_processor
