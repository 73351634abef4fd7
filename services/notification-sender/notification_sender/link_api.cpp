#include "notification_sender/link_api.hpp"

#include <spdlog/spdlog.h>

#include "auth/http_auth.hpp"
#include "auth/secrets.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "notification_sender/links.hpp"
#include "notification_sender/telegram.hpp"

namespace paypipe::notification_sender {

namespace {

prometheus::Family<prometheus::Counter>& bot_commands() {
  static auto& family = prometheus::BuildCounter()
                            .Name("telegram_bot_commands_total")
                            .Help(
                                "Bot commands from the webhook, by command and result (linked, refused, "
                                "unlinked, help)")
                            .Register(core::metrics::registry());
  return family;
}

}  // namespace

void TelegramLinkApi::add_routes(http::Router& router) {
  router.post("/v1/telegram/link-tokens",
              auth::user_route(authenticator_, [this](const http::Request&, const auth::Claims& who) {
                auto lease = pool_.acquire();
                if (!lease) return http::error_response(lease.error());
                auto link = create_link_token(**lease, who.subject, config_.link_ttl);
                if (!link) return http::error_response(link.error());
                core::json::Writer w;
                w.begin_object()
                    .field("token", link->token)
                    .field("deepLink", "https://t.me/" + config_.bot_username + "?start=" + link->token)
                    .field("expiresAt", link->expires_at)
                    .end_object();
                auto response = http::Response::json(201, w.take());
                response.headers.push_back({"Cache-Control", "no-store"});
                return response;
              }));
  router.post("/v1/telegram/webhook", [this](const http::Request& request) { return webhook(request); });
}

http::Response TelegramLinkApi::webhook(const http::Request& request) {
  const auto secret = request.header(webhook_secret_header);
  if (!secret) {
    return http::error_response(core::make_error(core::ErrorCategory::unauthenticated, "missing-secret-token",
                                                 std::string(webhook_secret_header) + " is required"));
  }
  if (!auth::same_secret(*secret, config_.webhook_secret)) {
    return http::error_response(
        core::make_error(core::ErrorCategory::forbidden, "wrong-secret-token", "the secret token is not ours"));
  }
  auto command = parse_update(request.body);
  if (!command) return http::error_response(command.error());
  auto answer_text = perform(*command);
  // A database outage: 503, and Telegram delivers the update again later.
  if (!answer_text) return http::error_response(answer_text.error());
  if (*answer_text) answer(command->chat_id, std::move(**answer_text));
  return http::Response::json(200, R"({"ok":true})");
}

core::Result<std::optional<std::string>> TelegramLinkApi::perform(const BotCommand& command) {
  using Kind = BotCommand::Kind;
  if (command.kind == Kind::none) return std::optional<std::string>{};
  const auto locale = command.locale.value_or(config_.recipients.default_locale);
  auto said = [&](const char* name, const char* result, const char* key) {
    bot_commands().Add({{"command", name}, {"result", result}}).Increment();
    return std::optional<std::string>(reply(key, locale, config_.templates));
  };
  if (command.kind == Kind::other || (command.kind == Kind::start && command.argument.empty())) {
    return said(command.kind == Kind::start ? "start" : "other", "help", "telegram.help");
  }
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  if (command.kind == Kind::stop) {
    auto forgotten = forget_chat(**lease, command.chat_id);
    if (!forgotten) return forgotten.error();
    return said("stop", "unlinked", "telegram.unlinked");
  }
  // A link token is ours only in its shape; anything else is refused without a lookup.
  const bool token_shaped = command.argument.size() <= 64 &&
                            command.argument.find_first_not_of(
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                                std::string::npos;
  std::optional<std::string> user;
  if (token_shaped) {
    auto redeemed = redeem_link_token(**lease, command.argument, command.chat_id, command.locale);
    if (!redeemed) return redeemed.error();
    user = std::move(redeemed).value();
  }
  if (!user) return said("start", "refused", "telegram.link-refused");
  spdlog::info("Telegram chat linked for user {}", *user);  // the chat id stays out of the log
  return said("start", "linked", "telegram.linked");
}

void TelegramLinkApi::answer(const std::string& chat_id, std::string text) {
  telegram_.async_send(send_message_request(config_.telegram, chat_id, text),
                       [](core::Result<http::ClientResponse> answer) {
                         const auto verdict = classify_telegram(answer, std::chrono::milliseconds(0));
                         if (!verdict.outcome.succeeded()) {
                           spdlog::warn("the bot's answer was not sent: {}", verdict.outcome.message);
                         }
                       });
}

}  // namespace paypipe::notification_sender
