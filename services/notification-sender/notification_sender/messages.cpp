#include "notification_sender/messages.hpp"

#include <algorithm>

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"
#include "contracts/order_cancelled.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "events/dispatch.hpp"

namespace paypipe::notification_sender {

namespace {

struct Template {
  std::string_view type;
  std::string_view ko;
  std::string_view en;
};

// One template per event type and language. Plain text: we send no parse_mode, so
// nothing in a value can turn into markup.
constexpr Template templates[] = {
    {contracts::PaymentCompleted::type,
     "[paypipe] 결제가 완료되었습니다.\n금액: {amount}\n주문번호: {orderId}\n결제번호: {paymentId}",
     "[paypipe] Payment completed.\nAmount: {amount}\nOrder: {orderId}\nPayment: {paymentId}"},
    {contracts::PaymentFailed::type,
     "[paypipe] 결제에 실패했습니다: {reason}\n금액: {amount}\n주문번호: {orderId}\n결제번호: {paymentId}",
     "[paypipe] Payment failed: {reason}\nAmount: {amount}\nOrder: {orderId}\nPayment: {paymentId}"},
    {contracts::OrderCancelled::type, "[paypipe] 주문이 취소되었습니다: {reason}\n금액: {amount}\n주문번호: {orderId}",
     "[paypipe] Order cancelled: {reason}\nAmount: {amount}\nOrder: {orderId}"},
    {contracts::OrderRefunded::type, "[paypipe] 환불되었습니다: {reason}\n금액: {amount}\n주문번호: {orderId}",
     "[paypipe] Order refunded: {reason}\nAmount: {amount}\nOrder: {orderId}"},
    {contracts::CouponIssued::type,
     "[paypipe] 쿠폰이 발급되었습니다: {couponName}\n할인: {discount}\n유효기간: {validUntil}\n요청번호: {requestId}",
     "[paypipe] Coupon issued: {couponName}\nDiscount: {discount}\nValid until: {validUntil}\nRequest: {requestId}"},
    {contracts::CouponRejected::type,
     "[paypipe] 쿠폰을 발급하지 못했습니다: {reason}\n쿠폰: {couponId}\n요청번호: {requestId}",
     "[paypipe] Coupon not issued: {reason}\nCoupon: {couponId}\nRequest: {requestId}"},
};

struct Reason {
  std::string_view code;
  std::string_view ko;
  std::string_view en;
};

constexpr Reason reasons[] = {
    {"INSUFFICIENT_FUNDS", "잔액 부족", "insufficient funds"},
    {"PAYMENT_FAILED", "결제 실패", "the payment failed"},
    {"EXPIRED", "기간 만료", "expired"},
    {"USER_CANCELLED", "고객 요청", "cancelled on request"},
    {"USER_REQUESTED", "고객 요청", "refunded on request"},
    {"ADMIN_REFUND", "관리자 환불", "refunded by the shop"},
    {"ORDER_CANCELLED", "취소된 주문의 결제", "paid after the order was cancelled"},
    {"ORDER_EXPIRED", "만료된 주문의 결제", "paid after the order expired"},
    {"OUT_OF_STOCK", "수량 소진", "none left"},
    {"ALREADY_ISSUED", "이미 발급됨", "already issued to you"},
    {"NOT_FOUND", "없는 쿠폰", "no such coupon"},
};

std::string reason_text(std::string_view code, Locale locale) {
  for (const auto& r : reasons) {
    if (r.code == code) return std::string(locale == Locale::ko ? r.ko : r.en);
  }
  return std::string(code);  // a reason added later still reads as its code
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

// The event types with a message, which are the topics notification-sender consumes.
using Notified = events::EventSet<contracts::PaymentCompleted, contracts::PaymentFailed, contracts::OrderCancelled,
                                  contracts::OrderRefunded, contracts::CouponIssued, contracts::CouponRejected>;

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
      [&](const contracts::OrderCancelled& d) -> core::Result<Notice> {
        auto n = base(event, d.user_id);
        n.order_id = d.order_id;
        n.amount = d.total_amount;
        n.currency = d.currency;
        n.reason = d.reason;
        return n;
      },
      [&](const contracts::OrderRefunded& d) -> core::Result<Notice> {
        auto n = base(event, d.user_id);
        n.order_id = d.order_id;
        n.payment_id = d.payment_id;
        n.amount = d.total_amount;
        n.currency = d.currency;
        n.reason = d.reason;
        return n;
      },
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

std::string fill(std::string_view text, const std::vector<std::pair<std::string_view, std::string>>& values) {
  std::string out;
  out.reserve(text.size() + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find('{', i);
    if (open == std::string_view::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const auto name = text.substr(open + 1, close - open - 1);
    const auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == name; });
    if (it != values.end()) out.append(it->second);
    else out.append(text.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(text.substr(i));
  return out;
}

std::string render(const Notice& notice, Locale locale) {
  const Template* chosen = nullptr;
  for (const auto& t : templates) {
    if (t.type == notice.type) chosen = &t;
  }
  if (chosen == nullptr) return notice.type + " " + notice.event_id;  // notice_from refuses other types
  const bool ko = locale == Locale::ko;
  std::string valid_until = notice.valid_until.size() >= 10 ? notice.valid_until.substr(0, 10) : "";
  if (valid_until.empty()) valid_until = ko ? "없음" : "none";
  else if (ko) valid_until += "까지";
  return fill(ko ? chosen->ko : chosen->en, {{"paymentId", notice.payment_id},
                                             {"orderId", notice.order_id},
                                             {"requestId", notice.request_id},
                                             {"couponId", notice.coupon_id},
                                             {"couponName", notice.coupon_name},
                                             {"reason", reason_text(notice.reason, locale)},
                                             {"amount", format_amount(notice.amount, notice.currency, locale)},
                                             {"discount", with_separators(notice.amount)},
                                             {"validUntil", valid_until}});
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
