// Every template in every language renders from a notice that has every field, and the
// overrides file is checked before it is used.
#include <catch2/catch.hpp>

#include "contracts/order_completed.hpp"
#include "events/envelope.hpp"
#include "notification_sender/messages.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;

namespace {

const std::string order_id = "0190a6b2-7c3e-7abc-8def-00000000000b";

// Every user-visible change, by template key, and the event type it comes from.
const std::vector<std::pair<std::string, std::string>> event_keys{
    {"payment.completed", "dev.paypipe.payment.completed.v1"}, {"payment.failed", "dev.paypipe.payment.failed.v1"},
    {"order.completed", "dev.paypipe.order.completed.v1"},     {"order.cancelled", "dev.paypipe.order.cancelled.v1"},
    {"order.expired", "dev.paypipe.order.cancelled.v1"},       {"order.refunded", "dev.paypipe.order.refunded.v1"},
    {"coupon.issued", "dev.paypipe.coupon.issued.v1"},         {"coupon.rejected", "dev.paypipe.coupon.rejected.v1"},
};
const std::vector<std::string> reply_keys{"telegram.linked", "telegram.link-refused", "telegram.unlinked",
                                          "telegram.help"};

Notice full_notice(const std::string& key, const std::string& type) {
  Notice n;
  n.event_id = "0190a6b2-7c3e-7abc-8def-000000000001";
  n.type = type;
  n.user_id = "alice";
  n.payment_id = "0190a6b2-7c3e-7abc-8def-00000000000a";
  n.order_id = order_id;
  n.request_id = "0190a6b2-7c3e-7abc-8def-00000000000c";
  n.coupon_id = "0190a6b2-7c3e-7abc-8def-00000000000d";
  n.coupon_name = "Welcome";
  n.reason = key == "order.expired" ? "EXPIRED" : key == "payment.failed" ? "INSUFFICIENT_FUNDS" : "USER_CANCELLED";
  n.amount = 170000;
  n.currency = "KRW";
  n.valid_until = "2027-02-01T00:00:00Z";
  n.items = {{"seat-A1", 2, 50000, std::string("Concert A"), std::string("2026-12-24T19:30:00+09:00"),
              std::string("Olympic Hall")},
             {"seat-B1", 1, 70000}};
  return n;
}

}  // namespace

TEST_CASE("every event template renders in Korean and English") {
  for (const auto& [key, type] : event_keys) {
    const auto notice = full_notice(key, type);
    REQUIRE(template_key(notice) == key);
    for (const auto locale : {Locale::ko, Locale::en}) {
      const auto text = render(notice, locale);
      INFO(key << " " << to_string(locale) << ": " << text);
      CHECK(text.rfind("[paypipe] ", 0) == 0);
      CHECK(text.find('{') == std::string::npos);  // every argument filled
      CHECK((text.find(order_id) != std::string::npos || text.find(notice.request_id) != std::string::npos));
    }
  }
  for (const auto& key : reply_keys) {
    for (const auto locale : {Locale::ko, Locale::en}) {
      const auto text = reply(key, locale);
      INFO(key << " " << to_string(locale) << ": " << text);
      CHECK(text.rfind("[paypipe] ", 0) == 0);
    }
  }
  // Nothing shipped without both languages.
  for (const auto& [key, texts] : Templates::defaults().all()) {
    INFO(key);
    CHECK(texts.size() == 2);
    CHECK_FALSE(texts.at(Locale::ko).empty());
    CHECK_FALSE(texts.at(Locale::en).empty());
  }
}

TEST_CASE("an order's message names what was bought, and a ticket's date and venue") {
  const auto notice = full_notice("order.completed", "dev.paypipe.order.completed.v1");
  CHECK(render(notice, Locale::en) ==
        "[paypipe] Order completed.\n- Concert A x2 (2026-12-24 19:30, Olympic Hall)\n- seat-B1 x1\nAmount: KRW "
        "170,000\nOrder: " +
            order_id);
  CHECK(render(notice, Locale::ko) ==
        "[paypipe] 주문이 완료되었습니다.\n- Concert A 2개 (2026-12-24 19:30, Olympic Hall)\n- seat-B1 1개\n금액: "
        "170,000원\n주문번호: " +
            order_id);
  // An order the deadline cancelled reads as expired, not as a cancellation.
  const auto expired = render(full_notice("order.expired", "dev.paypipe.order.cancelled.v1"), Locale::en);
  CHECK(expired.rfind("[paypipe] Order expired", 0) == 0);
  // From the event itself: the names travel in order.completed.
  contracts::OrderCompleted data{order_id, "alice",     notice.items,      170000,
                                 "KRW",    "WAREHOUSE", notice.payment_id, "2026-12-01T00:00:00Z"};
  const auto from_event = notice_from(
      events::make_event("order.completed", "/test", order_id, contracts::encode(data)));
  REQUIRE(from_event.ok());
  CHECK(render(*from_event, Locale::en).find("Concert A x2 (2026-12-24 19:30, Olympic Hall)") != std::string::npos);
}

TEST_CASE("a templates file overrides texts, and a bad one is refused naming each problem") {
  const auto custom = Templates::defaults().with_overrides(
      R"({"payment.completed": {"en": "Paid {amount} for order {orderId}"},
          "reason.SOLD_OUT_TODAY": {"ko": "오늘 매진", "en": "sold out today"}})");
  REQUIRE(custom.ok());
  auto paid = full_notice("payment.completed", "dev.paypipe.payment.completed.v1");
  CHECK(render(paid, Locale::en, *custom) == "Paid KRW 170,000 for order " + order_id);
  CHECK(render(paid, Locale::ko, *custom) == render(paid, Locale::ko));  // the other language kept
  auto failed = full_notice("payment.failed", "dev.paypipe.payment.failed.v1");
  failed.reason = "SOLD_OUT_TODAY";
  CHECK(render(failed, Locale::en, *custom).find("sold out today") != std::string::npos);

  const auto bad = Templates::defaults().with_overrides(
      R"({"payment.completd": {"en": "x"}, "order.completed": {"fr": "x", "en": "{total}", "ko": "{amount"},
          "reason.NEW": {"en": "new"}, "coupon.issued": "text"})");
  REQUIRE_FALSE(bad.ok());
  const auto& m = bad.error().message;
  INFO(m);
  CHECK(m.find("payment.completd: no such template") != std::string::npos);
  CHECK(m.find("order.completed.fr: no such language") != std::string::npos);
  CHECK(m.find("order.completed.en") != std::string::npos);  // an unknown argument
  CHECK(m.find("order.completed.ko") != std::string::npos);  // not a format string
  CHECK(m.find("reason.NEW: needs both ko and en") != std::string::npos);
  CHECK(m.find("coupon.issued: must be an object") != std::string::npos);
  CHECK_FALSE(Templates::defaults().with_overrides("[]").ok());
  CHECK_FALSE(Templates::defaults().with_overrides("{").ok());
}

TEST_CASE("a Telegram language code picks one of our languages") {
  CHECK(locale_of_language_code("ko") == Locale::ko);
  CHECK(locale_of_language_code("en-US") == Locale::en);
  CHECK_FALSE(locale_of_language_code("de").has_value());
  CHECK_FALSE(locale_of_language_code("").has_value());
}
