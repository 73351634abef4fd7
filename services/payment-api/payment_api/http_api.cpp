#include "payment_api/http_api.hpp"

#include "auth/http_auth.hpp"
#include "core/uuid.hpp"
#include "http/request.hpp"
#include "payment_api/http_codecs.hpp"
#include "payment_api/payment_store.hpp"

namespace paypipe::payment_api {

PaymentApi::PaymentApi(const Config& config, pg::Pool& pool, std::shared_ptr<const auth::Authenticator> authenticator,
                       std::shared_ptr<http::StreamHub> live)
    : pool_(pool),
      authenticator_(std::move(authenticator)),
      live_(std::move(live)),
      limiter_(std::make_shared<http::RateLimiter>(config.rate_limit)),
      admin_token_(config.admin_token),
      currency_(config.currency),
      processor_(pool, "/paypipe/payment-api", config.currency),
      // A lane per worker, by user: one user's payments never wait in PostgreSQL for
      // another worker's transaction holding their wallet row.
      queue_({config.workers, config.batch_size, config.batch_linger, config.queue_limit, "payment-batch",
              [](const Job& job) { return std::hash<std::string>{}(job.request.user_id); }},
             [this](std::vector<Job>& jobs) { process(jobs); }) {}

PaymentApi::~PaymentApi() { stop(); }

void PaymentApi::stop() { queue_.stop(); }

void PaymentApi::process(std::vector<Job>& jobs) {
  std::vector<PaymentRequest> requests;
  std::vector<core::TraceContext> traces;
  requests.reserve(jobs.size());
  traces.reserve(jobs.size());
  for (auto& job : jobs) {  // only their responders are needed after this
    requests.push_back(std::move(job.request));
    traces.push_back(std::move(job.trace));
  }
  const auto results = processor_.process(requests, traces);
  for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i].respond(payment_response(results[i]));
}

void PaymentApi::add_routes(http::Router& router) {
  router.add_async("POST", "/v1/payments",
                   auth::async_user_route(
                       authenticator_,
                       [this](http::Request request, auth::Claims who, http::Responder respond) {
                         auto payment = parse_payment_request(request, who.subject);
                         if (!payment) {
                           respond(http::error_response(payment.error()));
                           return;
                         }
                         if (!queue_.push(Job{std::move(payment).value(), request.trace, respond})) {
                           respond(http::error_response(
                               core::make_error(core::ErrorCategory::unavailable, "overloaded",
                                                "too many payments in flight; retry with the same Idempotency-Key")));
                         }
                       },
                       limiter_));

  // Before /v1/payments/{paymentId}, which "stream" would match too.
  if (live_) router.stream(std::string(payment_stream_path), auth::user_stream(authenticator_, live_));
  router.get("/v1/payments/{paymentId}",
             auth::user_route(authenticator_, [this](const http::Request& request, const auth::Claims& who) {
               const auto id = http::uuid_param(request, "paymentId", "bad-payment-id");
               if (!id) return http::error_response(id.error());
               auto lease = pool_.acquire();
               if (!lease) return http::error_response(lease.error());
               auto payment = find_payment(**lease, *id);
               if (!payment) return http::error_response(payment.error());
    // Another user's payment answers exactly as a missing one.
               if (!*payment || (*payment)->user_id != who.subject) {
                 return http::error_response(
                     core::make_error(core::ErrorCategory::not_found, "payment-not-found", "no payment " + *id));
               }
               return http::Response::json(200, payment_json(**payment));
             }));

  router.post("/v1/wallets/{userId}/deposits", [this](const http::Request& request) {
    if (auto allowed = auth::require_service(request, *authenticator_, "wallet:deposit", admin_token_); !allowed) {
      return http::error_response(allowed.error());
    }
    auto parsed = parse_deposit_request(request);
    if (!parsed) return http::error_response(parsed.error());
    auto result = record_deposit(pool_, parsed->user_id, parsed->amount, parsed->idempotency_key, currency_);
    if (!result) return http::error_response(result.error());
    auto response = http::Response::json(201, deposit_json(*result));
    if (result->replayed) response.headers.push_back({"Idempotent-Replayed", "true"});
    return response;
  });

  router.get("/v1/wallets/{userId}",
             auth::user_route(authenticator_, [this](const http::Request& request, const auth::Claims& who) {
               const std::string user_id(request.param("userId"));
               const auto no_wallet = [&] {
                 return http::error_response(
                     core::make_error(core::ErrorCategory::not_found, "wallet-not-found", "no wallet for this user"));
               };
               if (user_id != who.subject) return no_wallet();  // before any read: nothing about another user leaks
               auto lease = pool_.acquire();
               if (!lease) return http::error_response(lease.error());
               auto wallet = find_wallet(**lease, user_id);
               if (!wallet) return http::error_response(wallet.error());
               if (!*wallet) return no_wallet();
               return http::Response::json(200, wallet_json(**wallet));
             }));
}

}  // namespace paypipe::payment_api
