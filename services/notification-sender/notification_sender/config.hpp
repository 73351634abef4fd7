#pragma once
// notification-sender's configuration: the common settings plus
//   PAYPIPE_TELEGRAM_BASE_URL          Bot API root (default https://api.telegram.org)
//   PAYPIPE_TELEGRAM_BOT_TOKEN         required, a Secret; it is part of every request URL,
//                                      so URLs are never logged
//   PAYPIPE_TELEGRAM_TIMEOUT_MS        one sendMessage call, end to end (default 30000)
//   PAYPIPE_TELEGRAM_CONNECT_TIMEOUT_MS                              (default 5000)
//   PAYPIPE_TELEGRAM_DEFAULT_RETRY_AFTER_MS  a 429 that names no wait (default 1000)
//   PAYPIPE_TELEGRAM_MAX_RETRY_AFTER_MS the longest Retry-After honoured (default 300000);
//                                      a longer one is a failure to retry later
//   PAYPIPE_TELEGRAM_WEBHOOK_SECRET    a Secret: the secret_token given to setWebhook, which
//                                      Telegram sends back on every update (compared in
//                                      constant time); unset, the webhook refuses everything
//   PAYPIPE_TELEGRAM_BOT_USERNAME      the bot, for deep links t.me/<bot>?start=<token>
//                                      (default paypipe_bot)
//   PAYPIPE_TELEGRAM_LINK_TTL_MS       how long a link token stays usable (default 600000)
//   PAYPIPE_JWT_*                      end-user tokens for POST /v1/telegram/link-tokens
//                                      (libs/auth/authenticator.hpp)
//   PAYPIPE_TELEGRAM_CHAT_IDS          "user=chat,..." (chat: integer or @channel): tests
//                                      and demos only; users link their chats themselves
//                                      (links.hpp), and a linked chat comes first
//   PAYPIPE_TELEGRAM_UNMAPPED_USERS    skip | default-chat (default skip: no chat, no message)
//   PAYPIPE_TELEGRAM_DEFAULT_CHAT_ID   the chat of default-chat
//   PAYPIPE_NOTIFY_DEFAULT_LOCALE      ko | en (default ko)
//   PAYPIPE_NOTIFY_LOCALES             "user=en,..." (a linked chat's language comes first)
//   PAYPIPE_NOTIFY_TEMPLATES_FILE      JSON overriding message templates (messages.hpp)
//   PAYPIPE_NOTIFY_DB_WORKERS          threads per log stage (check, write) (default 2)
//   PAYPIPE_NOTIFY_DB_BATCH_SIZE       events per log statement (default 256)
//   PAYPIPE_NOTIFY_CLAIM_LEASE_MS      how long a claim on an event holds before another
//                                      replica may take it over (default 2 x the Telegram
//                                      timeout + 5 s: 65000); must exceed
//                                      PAYPIPE_TELEGRAM_TIMEOUT_MS (a call starts only
//                                      while its lease covers its timeout)
// and the consumer settings (PAYPIPE_CONSUMER_*: the send window is
// PAYPIPE_CONSUMER_MAX_IN_FLIGHT, default 256; PAYPIPE_RETRY_*: FixedBackOff(1000 ms, 3 retries)).

#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "core/env.hpp"
#include "events/consumer_runtime.hpp"
#include "http/client.hpp"
#include "notification_sender/recipients.hpp"
#include "notification_sender/telegram.hpp"
#include "runtime/config.hpp"

namespace paypipe::notification_sender {

struct Config {
  runtime::CommonConfig common;
  events::RuntimeSettings consumer;
  TelegramSettings telegram;
  std::chrono::milliseconds connect_timeout{5000};
  Recipients recipients;
  Templates templates = Templates::defaults();
  auth::Settings auth;
  std::string webhook_secret;  // secret; empty: the webhook refuses every update
  std::string bot_username = "paypipe_bot";
  std::chrono::milliseconds link_ttl{600000};
  runtime::ClaimSettings claims;  // PAYPIPE_NOTIFY_DB_WORKERS, _DB_BATCH_SIZE, _CLAIM_LEASE_MS

  static Config read(core::Env& env);

  // One client for every send: keep-alive connections for the whole window.
  http::ClientOptions client_options() const;
};

// The topics notification-sender consumes.
std::vector<std::string> consumed_topics();

}  // namespace paypipe::notification_sender
