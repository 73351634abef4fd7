#pragma once
// What notification-sender says, as pure functions: an event becomes a Notice (the facts
// a message needs), and a Notice is rendered from a template in the user's language.
//
// Every message carries the ids that identify what it is about (payment id and order id,
// or coupon request id), so a reader, and a test, can tell each message apart.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "events/envelope.hpp"

namespace paypipe::notification_sender {

enum class Locale { ko, en };

const char* to_string(Locale locale);
std::optional<Locale> parse_locale(std::string_view text);

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
};

// Decodes the event's data with its contract codec. invalid_input for a type we do not
// notify or data that does not decode: such a record would fail the same way again.
core::Result<Notice> notice_from(const events::Event& event);

// A template with {name} placeholders filled from `values`; unknown names stay as they are.
std::string fill(std::string_view text, const std::vector<std::pair<std::string_view, std::string>>& values);

// The message text for `notice` in `locale`.
std::string render(const Notice& notice, Locale locale);

// "3,000원" / "KRW 3,000"; currencies with minor units print two decimals ("USD 12.50").
std::string format_amount(std::int64_t minor_units, std::string_view currency, Locale locale);

}  // namespace paypipe::notification_sender
