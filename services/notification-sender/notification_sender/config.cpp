#include "notification_sender/config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "events/event_types.hpp"

namespace paypipe::notification_sender {

using std::chrono::milliseconds;

std::vector<std::string> consumed_topics() {
  std::vector<std::string> topics;
  for (const auto& type : notified_types()) topics.push_back(events::topic_of(type));
  return topics;
}

Config Config::read(core::Env& env) {
  Config c;
  c.common = runtime::CommonConfig::read(env, "notification-sender");
  runtime::ConsumerDefaults defaults;
  defaults.max_in_flight = 256;
  c.consumer = runtime::read_consumer_settings(env, "notification-sender", consumed_topics(), defaults);

  c.telegram.base_url = env.text("PAYPIPE_TELEGRAM_BASE_URL", c.telegram.base_url);
  while (!c.telegram.base_url.empty() && c.telegram.base_url.back() == '/') c.telegram.base_url.pop_back();
  if (c.telegram.base_url.rfind("http://", 0) != 0 && c.telegram.base_url.rfind("https://", 0) != 0) {
    env.fail("PAYPIPE_TELEGRAM_BASE_URL", "must start with http:// or https://");
  }
  c.telegram.bot_token = env.secret("PAYPIPE_TELEGRAM_BOT_TOKEN");
  if (c.telegram.bot_token.empty()) env.fail("PAYPIPE_TELEGRAM_BOT_TOKEN", "is required");
  if (c.telegram.bot_token.find_first_of("/?# ") != std::string::npos) {
    env.fail("PAYPIPE_TELEGRAM_BOT_TOKEN", "must not contain '/', '?', '#' or spaces");
  }
  c.telegram.timeout = env.millis("PAYPIPE_TELEGRAM_TIMEOUT_MS", milliseconds(30000), milliseconds(10),
                                  milliseconds(600000));
  c.connect_timeout = env.millis("PAYPIPE_TELEGRAM_CONNECT_TIMEOUT_MS", milliseconds(5000), milliseconds(10),
                                 milliseconds(60000));
  c.telegram.default_retry_after = env.millis("PAYPIPE_TELEGRAM_DEFAULT_RETRY_AFTER_MS", milliseconds(1000),
                                              milliseconds(0), milliseconds(3600000));
  c.telegram.max_retry_after = env.millis("PAYPIPE_TELEGRAM_MAX_RETRY_AFTER_MS", milliseconds(300000),
                                          milliseconds(1000), milliseconds(3600000));

  if (auto chats = parse_pairs(env.list("PAYPIPE_TELEGRAM_CHAT_IDS", {})); !chats) {
    env.fail("PAYPIPE_TELEGRAM_CHAT_IDS", chats.error().message);
  } else {
    for (const auto& [user, chat] : *chats) {
      if (!is_chat_id(chat))
        env.fail("PAYPIPE_TELEGRAM_CHAT_IDS", "'" + chat + "' is not a chat id (integer or @name)");
    }
    c.recipients.chat_ids = std::move(chats).value();
  }
  // "user-id" (the user id as chat id) is gone: any caller can name any user id.
  const auto unmapped = env.choice("PAYPIPE_TELEGRAM_UNMAPPED_USERS", "skip", {"skip", "default-chat"});
  c.recipients.unmapped = unmapped == "default-chat" ? UnmappedUsers::default_chat : UnmappedUsers::skip;
  c.recipients.default_chat_id = env.text("PAYPIPE_TELEGRAM_DEFAULT_CHAT_ID", "");
  if (c.recipients.unmapped == UnmappedUsers::default_chat && !is_chat_id(c.recipients.default_chat_id)) {
    env.fail("PAYPIPE_TELEGRAM_DEFAULT_CHAT_ID",
             "a chat id is required with PAYPIPE_TELEGRAM_UNMAPPED_USERS=default-chat");
  }

  c.recipients.default_locale = *parse_locale(env.choice("PAYPIPE_NOTIFY_DEFAULT_LOCALE", "ko", {"ko", "en"}));
  if (auto locales = parse_pairs(env.list("PAYPIPE_NOTIFY_LOCALES", {})); !locales) {
    env.fail("PAYPIPE_NOTIFY_LOCALES", locales.error().message);
  } else {
    for (const auto& [user, name] : *locales) {
      if (const auto locale = parse_locale(name)) c.recipients.locales[user] = *locale;
      else env.fail("PAYPIPE_NOTIFY_LOCALES", "'" + name + "' is not a locale (ko, en)");
    }
  }
  if (const auto file = env.text("PAYPIPE_NOTIFY_TEMPLATES_FILE", ""); !file.empty()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      env.fail("PAYPIPE_NOTIFY_TEMPLATES_FILE", "cannot read " + file);
    } else if (auto templates = Templates::defaults().with_overrides(text.str()); !templates) {
      env.fail("PAYPIPE_NOTIFY_TEMPLATES_FILE", file + ": " + templates.error().message);
    } else {
      c.templates = std::move(templates).value();
    }
  }
  c.auth = auth::Settings::read(env, c.common.local_profile);
  c.webhook_secret = env.secret("PAYPIPE_TELEGRAM_WEBHOOK_SECRET");
  c.bot_username = env.text("PAYPIPE_TELEGRAM_BOT_USERNAME", c.bot_username);
  if (c.bot_username.empty() ||
      c.bot_username.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
          std::string::npos) {
    env.fail("PAYPIPE_TELEGRAM_BOT_USERNAME", "must be a bot's username ([A-Za-z0-9_], no @)");
  }
  c.link_ttl = env.millis("PAYPIPE_TELEGRAM_LINK_TTL_MS", c.link_ttl, milliseconds(10000), milliseconds(86400000));
  // Long enough for a Telegram call and a short wait at the gate.
  c.claims = runtime::read_claim_settings(env, "PAYPIPE_NOTIFY", c.telegram.timeout, "PAYPIPE_TELEGRAM_TIMEOUT_MS",
                                          c.common);
  return c;
}

http::ClientOptions Config::client_options() const {
  http::ClientOptions o;
  o.connect_timeout = connect_timeout;
  o.request_timeout = telegram.timeout;
  o.max_idle_per_host = std::max<std::size_t>(consumer.max_in_flight, 8);
  o.user_agent = "paypipe-notification-sender/0.1";
  return o;
}

}  // namespace paypipe::notification_sender
