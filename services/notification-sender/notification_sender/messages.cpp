#include "notification_sender/messages.hpp"

#include <fmt/args.h>
#include <fmt/format.h>

#include <algorithm>

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"
#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "core/json.hpp"
#include "events/dispatch.hpp"
#include "events/event_types.hpp"

namespace paypipe::notification_sender {

namespace {

struct Default {
  std::string_view key;
  std::string_view ko;
  std::string_view en;
};

// The shipped texts. Plain text: we send no parse_mode, so nothing in a value can turn
// into markup. {items} is one line per order line: name, quantity, and the event's date
// and venue where the line has them.
constexpr Default shipped[] = {
    {"payment.completed",
     "[paypipe] 결제가 완료되었습니다.\n금액: {amount}\n주문번호: {orderId}\n결제번호: {paymentId}",
     "[paypipe] Payment completed.\nAmount: {amount}\nOrder: {orderId}\nPayment: {paymentId}"},
    {"payment.failed",
     "[paypipe] 결제에 실패했습니다: {reason}\n금액: {amount}\n주문번호: {orderId}\n결제번호: {paymentId}",
     "[paypipe] Payment failed: {reason}\nAmount: {amount}\nOrder: {orderId}\nPayment: {paymentId}"},
    {"order.completed", "[paypipe] 주문이 완료되었습니다.\n{items}\n금액: {amount}\n주문번호: {orderId}",
     "[paypipe] Order completed.\n{items}\nAmount: {amount}\nOrder: {orderId}"},
    {"order.cancelled", "[paypipe] 주문이 취소되었습니다: {reason}\n{items}\n금액: {amount}\n주문번호: {orderId}",
     "[paypipe] Order cancelled: {reason}\n{items}\nAmount: {amount}\nOrder: {orderId}"},
    {"order.expired", "[paypipe] 결제 기한이 지나 주문이 취소되었습니다.\n{items}\n금액: {amount}\n주문번호: {orderId}",
     "[paypipe] Order expired: it was not paid in time.\n{items}\nAmount: {amount}\nOrder: {orderId}"},
    {"order.refunded", "[paypipe] 주문이 환불되었습니다: {reason}\n환불 금액: {amount}\n주문번호: {orderId}",
     "[paypipe] Order refunded: {reason}\nRefunded: {amount}\nOrder: {orderId}"},
    {"coupon.issued",
     "[paypipe] 쿠폰이 발급되었습니다: {couponName}\n할인: {discount}\n유효기간: {validUntil}\n요청번호: {requestId}",
     "[paypipe] Coupon issued: {couponName}\nDiscount: {discount}\nValid until: {validUntil}\nRequest: {requestId}"},
    {"coupon.rejected", "[paypipe] 쿠폰을 발급하지 못했습니다: {reason}\n쿠폰: {couponId}\n요청번호: {requestId}",
     "[paypipe] Coupon not issued: {reason}\nCoupon: {couponId}\nRequest: {requestId}"},
    {"telegram.linked",
     "[paypipe] 이 채팅이 연결되었습니다. 결제와 주문 소식을 여기로 보내 드립니다. 그만 받으려면 /stop",
     "[paypipe] This chat is linked: payment and order news will come here. Send /stop to end it."},
    {"telegram.link-refused",
     "[paypipe] 연결하지 못했습니다: 링크가 만료되었거나 이미 사용되었습니다. 페이지에서 새 링크를 받아 주세요.",
     "[paypipe] Not linked: the link expired or was used already. Get a new one from your page."},
    {"telegram.unlinked", "[paypipe] 이 채팅으로는 더 이상 메시지를 보내지 않습니다.",
     "[paypipe] This chat will get no more messages."},
    {"telegram.help", "[paypipe] 페이지의 텔레그램 연결 링크로 시작해 주세요. 그만 받으려면 /stop",
     "[paypipe] Start from the Telegram link on your page. Send /stop to end messages."},
    {"reason.INSUFFICIENT_FUNDS", "잔액 부족", "insufficient funds"},
    {"reason.PAYMENT_FAILED", "결제 실패", "the payment failed"},
    {"reason.EXPIRED", "기간 만료", "expired"},
    {"reason.USER_CANCELLED", "고객 요청", "cancelled on request"},
    {"reason.OUT_OF_STOCK", "수량 소진", "none left"},
    {"reason.ALREADY_ISSUED", "이미 발급됨", "already issued to you"},
    {"reason.NOT_FOUND", "없는 쿠폰", "no such coupon"},
    {"reason.USER_REQUESTED", "고객 요청", "refunded on request"},
    {"reason.ADMIN_REFUND", "관리자 환불", "refunded by the shop"},
    {"reason.ORDER_CANCELLED", "취소된 주문의 결제", "paid after the order was cancelled"},
    {"reason.ORDER_EXPIRED", "만료된 주문의 결제", "paid after the order expired"},
};

constexpr std::string_view reason_prefix = "reason.";

// The names, as literals: fmt keeps a pointer to each name.
constexpr const char* argument_names[] = {"userId",     "orderId", "paymentId", "requestId", "couponId",
                                          "couponName", "reason",  "amount",    "currency",  "discount",
                                          "validUntil", "items",   "eventDate", "venue"};

std::string reason_text(std::string_view code, Locale locale, const Templates& templates) {
  const auto& all = templates.all();
  const auto it = all.find(std::string(reason_prefix) + std::string(code));
  if (it == all.end()) return std::string(code);  // a reason added later still reads as its code
  return it->second.at(locale);
}

std::string with_separators(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return value < 0 ? "-" + out : out;
}

bool has_minor_units(std::string_view currency) {
  return !(currency == "KRW" || currency == "JPY" || currency == "VND" || currency == "CLP" || currency == "ISK");
}

Notice base(const events::Event& event, std::string user_id) {
  Notice n;
  n.event_id = event.id;
  n.type = event.type;
  n.user_id = std::move(user_id);
  return n;
}

// The notice of an event about an order: its lines and total, and its payment and
// reason where the event has them.
template <class OrderEvent>
Notice order_notice(const events::Event& event, const OrderEvent& d) {
  auto n = base(event, d.user_id);
  n.order_id = d.order_id;
  n.amount = d.total_amount;
  n.currency = d.currency;
  n.items = d.items;
  if constexpr (requires { d.payment_id; }) n.payment_id = d.payment_id;
  if constexpr (requires { d.reason; }) n.reason = d.reason;
  return n;
}

// The event types with a message, which are the topics notification-sender consumes.
using Notified = events::EventSet<contracts::PaymentCompleted, contracts::PaymentFailed, contracts::OrderCompleted,
                                  contracts::OrderCancelled, contracts::OrderRefunded, contracts::CouponIssued,
                                  contracts::CouponRejected>;

}  // namespace

const char* to_string(Locale locale) { return locale == Locale::ko ? "ko" : "en"; }

std::optional<Locale> parse_locale(std::string_view text) {
  if (text == "ko") return Locale::ko;
  if (text == "en") return Locale::en;
  return std::nullopt;
}

const std::vector<std::string>& notified_types() {
  static const std::vector<std::string> types = Notified::types();
  return types;
}

core::Result<Notice> notice_from(const events::Event& event) {
  return Notified::dispatch(
      event, "notification-sender",
      [&](const contracts::PaymentCompleted& d) -> core::Result<Notice> {
        auto n = base(event, d.user_id);
        n.payment_id = d.payment_id;
        n.order_id = d.order_id;
        n.amount = d.amount;
        n.currency = d.currency;
        return n;
      },
      [&](const contracts::PaymentFailed& d) -> core::Result<Notice> {
        auto n = base(event, d.user_id);
        n.payment_id = d.payment_id;
        n.order_id = d.order_id;
        n.amount = d.amount;
        n.currency = d.currency;
        n.reason = d.reason;
        return n;
      },
      [&](const contracts::OrderCompleted& d) -> core::Result<Notice> { return order_notice(event, d); },
      [&](const contracts::OrderCancelled& d) -> core::Result<Notice> { return order_notice(event, d); },
      [&](const contracts::OrderRefunded& d) -> core::Result<Notice> { return order_notice(event, d); },
      [&](const contracts::CouponIssued& d) -> core::Result<Notice> {
        auto n = base(event, d.user_id);
        n.request_id = d.request_id;
        n.coupon_id = d.coupon_id;
        n.coupon_name = d.coupon_name.value_or(d.coupon_id);
        n.amount = d.discount;
        n.valid_until = d.valid_until.value_or("");
        return n;
      },
      [&](const contracts::CouponRejected& d) -> core::Result<Notice> {
        auto n = base(event, d.user_id);
        n.request_id = d.request_id;
        n.coupon_id = d.coupon_id;
        n.reason = d.reason;
        return n;
      });
}

namespace {

// "2026-12-24T19:30:00+09:00" -> "2026-12-24 19:30": the time as the event gave it (its
// local time), without seconds and offset.
std::string event_time(std::string_view rfc3339) {
  if (rfc3339.size() < 16) return std::string(rfc3339);
  return std::string(rfc3339.substr(0, 10)) + " " + std::string(rfc3339.substr(11, 5));
}

// One line per order line: "- Concert A x2 (2026-12-24 19:30, Olympic Hall)".
std::string item_lines(const std::vector<contracts::OrderItem>& items, Locale locale) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += "\n";
    out += "- " + item.name.value_or(item.product_id);
    out += locale == Locale::ko ? " " + std::to_string(item.quantity) + "개" : " x" + std::to_string(item.quantity);
    std::string where;
    if (item.event_date) where = event_time(*item.event_date);
    if (item.venue) where += (where.empty() ? "" : ", ") + *item.venue;
    if (!where.empty()) out += " (" + where + ")";
  }
  return out;
}

template <typename Value>
std::optional<std::string> first_of(const std::vector<contracts::OrderItem>& items, Value value) {
  for (const auto& item : items) {
    if (const auto& v = value(item)) return *v;
  }
  return std::nullopt;
}

std::string format(std::string_view text, const Notice& notice, Locale locale, const Templates& templates) {
  const bool ko = locale == Locale::ko;
  std::string valid_until = notice.valid_until.size() >= 10 ? notice.valid_until.substr(0, 10) : "";
  if (valid_until.empty()) valid_until = ko ? "없음" : "none";
  else if (ko) valid_until += "까지";
  const auto date = first_of(notice.items, [](const auto& i) -> const auto& { return i.event_date; });
  const std::string values[] = {
      notice.user_id,
      notice.order_id,
      notice.payment_id,
      notice.request_id,
      notice.coupon_id,
      notice.coupon_name,
      notice.reason.empty() ? "" : reason_text(notice.reason, locale, templates),
      format_amount(notice.amount, notice.currency, locale),
      notice.currency,
      with_separators(notice.amount),
      valid_until,
      item_lines(notice.items, locale),
      date ? event_time(*date) : "",
      first_of(notice.items, [](const auto& i) -> const auto& { return i.venue; }).value_or("")};
  static_assert(std::size(values) == std::size(argument_names));
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  for (std::size_t i = 0; i < std::size(values); ++i) args.push_back(fmt::arg(argument_names[i], values[i]));
  return fmt::vformat(fmt::string_view(text.data(), text.size()), args);
}

}  // namespace

std::optional<Locale> locale_of_language_code(std::string_view code) {
  const auto language = code.substr(0, code.find('-'));
  return parse_locale(language);
}

std::string template_key(const Notice& notice) {
  auto name = events::parse_type(notice.type);
  std::string key = name ? name->name : notice.type;
  if (key == "order.cancelled" && notice.reason == "EXPIRED") return "order.expired";
  return key;
}

const std::vector<std::string_view>& template_arguments() {
  static const std::vector<std::string_view> names(std::begin(argument_names), std::end(argument_names));
  return names;
}

const Templates& Templates::defaults() {
  static const Templates templates = [] {
    Templates t;
    for (const auto& d : shipped)
      t.texts_[std::string(d.key)] = {{Locale::ko, std::string(d.ko)}, {Locale::en, std::string(d.en)}};
    return t;
  }();
  return templates;
}

core::Result<Templates> Templates::with_overrides(std::string_view json) const {
  auto doc = core::json::parse(json);
  if (!doc) return doc.error();
  if (!doc->IsObject())
    return core::make_error(core::ErrorCategory::invalid_input, "bad-templates", "must be a JSON object");
  Templates out = *this;
  std::vector<std::string> problems;
  // A notice with every argument set, so a text that formats it formats any notice.
  Notice sample;
  sample.reason = "EXPIRED";
  sample.items = {
      {"sample", 1, 1, std::string("Sample"), std::string("2027-01-01T19:00:00+09:00"), std::string("Hall")}};
  for (auto key = doc->MemberBegin(); key != doc->MemberEnd(); ++key) {
    const std::string name(key->name.GetString(), key->name.GetStringLength());
    const auto known = out.texts_.find(name);
    const bool reason = name.rfind(reason_prefix, 0) == 0 && name.size() > reason_prefix.size();
    if (known == out.texts_.end() && !reason) {
      problems.push_back(name + ": no such template");
      continue;
    }
    if (!key->value.IsObject()) {
      problems.push_back(name + ": must be an object of languages");
      continue;
    }
    auto& texts = out.texts_[name];
    for (auto language = key->value.MemberBegin(); language != key->value.MemberEnd(); ++language) {
      const std::string code(language->name.GetString(), language->name.GetStringLength());
      const auto locale = parse_locale(code);
      if (!locale) {
        problems.push_back(name + "." + code + ": no such language (ko, en)");
        continue;
      }
      if (!language->value.IsString() || language->value.GetStringLength() == 0) {
        problems.push_back(name + "." + code + ": must be a non-empty string");
        continue;
      }
      std::string text(language->value.GetString(), language->value.GetStringLength());
      try {
        (void)format(text, sample, *locale, out);
      } catch (const fmt::format_error& e) {
        problems.push_back(name + "." + code + ": " + e.what());
        continue;
      }
      texts[*locale] = std::move(text);
    }
    // A reason added by the file needs both languages.
    if (texts.size() != 2) problems.push_back(name + ": needs both ko and en");
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
    return core::make_error(core::ErrorCategory::invalid_input, "bad-templates", message);
  }
  return out;
}

const std::string& Templates::text(std::string_view key, Locale locale) const {
  static const std::string none;
  const auto it = texts_.find(key);
  return it == texts_.end() ? none : it->second.at(locale);
}

std::string render(const Notice& notice, Locale locale, const Templates& templates) {
  const auto& text = templates.text(template_key(notice), locale);
  if (text.empty()) return notice.type + " " + notice.event_id;  // notice_from refuses other types
  try {
    return format(text, notice, locale, templates);
  } catch (const fmt::format_error&) {
    return text;  // with_overrides formats every text before it is used: not reached
  }
}

std::string reply(std::string_view key, Locale locale, const Templates& templates) {
  Notice notice;
  notice.type = std::string(key);
  return render(notice, locale, templates);
}

std::string format_amount(std::int64_t minor_units, std::string_view currency, Locale locale) {
  std::string number;
  if (has_minor_units(currency)) {
    const std::int64_t magnitude = minor_units < 0 ? -minor_units : minor_units;
    const auto cents = magnitude % 100;
    number = with_separators(minor_units / 100) + (cents < 10 ? ".0" : ".") + std::to_string(cents);
    if (minor_units < 0 && minor_units > -100) number = "-" + number;
  } else {
    number = with_separators(minor_units);
  }
  if (locale == Locale::ko && currency == "KRW") return number + "원";
  return std::string(currency) + " " + number;
}

}  // namespace paypipe::notification_sender
