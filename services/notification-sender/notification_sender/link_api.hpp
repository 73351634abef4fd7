#pragma once
// The HTTP side of linking a Telegram chat (links.hpp):
//   POST /v1/telegram/link-tokens   bearer token of the user: 201 {token, deepLink,
//       expiresAt}; the token is shown once (Cache-Control: no-store), single-use
//   POST /v1/telegram/webhook       the bot's updates from Telegram; 401 without the
//       X-Telegram-Bot-Api-Secret-Token header, 403 with a wrong one (or none
//       configured); 400 for a body that is no Update; otherwise 200, and the command's
//       answer goes to the chat through sendMessage (best effort: a lost answer is
//       logged, the link is made either way)
// Errors are problem+json; bodies are bounded by PAYPIPE_HTTP_BODY_LIMIT_BYTES (413).

#include <memory>

#include "auth/authenticator.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "notification_sender/config.hpp"
#include "notification_sender/webhook.hpp"
#include "pg/pool.hpp"

namespace paypipe::notification_sender {

class TelegramLinkApi {
 public:
  TelegramLinkApi(const Config& config, pg::Pool& pool, std::shared_ptr<const auth::Authenticator> authenticator,
                  http::Client& telegram)
      : config_(config), pool_(pool), authenticator_(std::move(authenticator)), telegram_(telegram) {}
  void add_routes(http::Router& router);

  http::Response webhook(const http::Request& request);

 private:
  // What the bot answers `command`, after doing what it asks; nullopt: no answer.
  core::Result<std::optional<std::string>> perform(const BotCommand& command);
  void answer(const std::string& chat_id, std::string text);

  const Config& config_;
  pg::Pool& pool_;
  std::shared_ptr<const auth::Authenticator> authenticator_;
  http::Client& telegram_;
};

}  // namespace paypipe::notification_sender
