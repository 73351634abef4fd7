#pragma once
// What notification-sender says, as pure functions: an event becomes a Notice (the facts
// a message needs), and a Notice is rendered from a template in the user's language.
//
// Every message carries the ids that identify what it is about (payment id and order id,
// or coupon request id), so a reader, and a test, can tell each message apart.
//
// Templates are fmt format strings with named arguments ("Amount: {amount}"), one per
// key and language, Korean and English shipped (templates.cpp). Keys:
//   payment.completed  payment.failed  order.completed  order.cancelled
//   order.expired      (an order.cancelled whose reason is EXPIRED)
//   order.refunded     coupon.issued   coupon.rejected
//   telegram.linked  telegram.link-refused  telegram.unlinked  telegram.help   (bot replies)
//   reason.<CODE>      how a reason code reads ("reason.INSUFFICIENT_FUNDS")
// Every template may use every argument (template_arguments()); an empty one is "".
// PAYPIPE_NOTIFY_TEMPLATES_FILE (a mounted ConfigMap) overrides any of them:
//   {"payment.completed": {"en": "Paid: {amount} for {items}"}, "reason.EXPIRED": {"ko": "..."}}
// An unknown key, language or argument, or a text fmt cannot format, is refused at
// start-up (Templates::with_overrides renders each one), never at send time.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"
#include "events/envelope.hpp"

namespace paypipe::notification_sender {

enum class Locale { ko, en };

const char* to_string(Locale locale);
std::optional<Locale> parse_locale(std::string_view text);
// A Telegram user's language_code ("en", "en-US", "ko") as one of ours, if it is one.
std::optional<Locale> locale_of_language_code(std::string_view code);

// The event types notification-sender turns into messages (their topics, events::topic_of,
// are the ones it consumes).
const std::vector<std::string>& notified_types();

struct Notice {
  std::string event_id;
  std::string type;  // the event type, e.g. "dev.paypipe.payment.completed.v1"
  std::string user_id;
  std::string payment_id;  // empty where the event has none
  std::string order_id;
  std::string request_id;  // coupon request
  std::string coupon_id;
  std::string coupon_name;
  std::string reason;      // payment.failed, order.cancelled, coupon.rejected
  std::int64_t amount = 0;  // minor units; coupon.issued: the discount
  std::string currency;
  std::string valid_until;  // coupon.issued, RFC 3339 or empty
  std::vector<contracts::OrderItem> items;  // order events: the lines, with names where known
};

// Decodes the event's data with its contract codec. invalid_input for a type we do not
// notify or data that does not decode: such a record would fail the same way again.
core::Result<Notice> notice_from(const events::Event& event);

// The template key of a notice: its event's name, "order.expired" for an order the
// deadline cancelled.
std::string template_key(const Notice& notice);

// The argument names every template may use.
const std::vector<std::string_view>& template_arguments();

class Templates {
 public:
  // Korean and English, for every key.
  static const Templates& defaults();
  // These templates with the overrides of `json` (the file's text); invalid_input naming
  // every bad key, language or text.
  core::Result<Templates> with_overrides(std::string_view json) const;

  const std::string& text(std::string_view key, Locale locale) const;
  const std::map<std::string, std::map<Locale, std::string>, std::less<>>& all() const { return texts_; }

 private:
  std::map<std::string, std::map<Locale, std::string>, std::less<>> texts_;
};

// The message text for `notice` in `locale`.
std::string render(const Notice& notice, Locale locale, const Templates& templates = Templates::defaults());

// A template without arguments (the bot's replies).
std::string reply(std::string_view key, Locale locale, const Templates& templates = Templates::defaults());

// "3,000원" / "KRW 3,000"; currencies with minor units print two decimals ("USD 12.50").
std::string format_amount(std::int64_t minor_units, std::string_view currency, Locale locale);

}  // namespace paypipe::notification_sender
