#include "notification_sender/messages.hpp"

#include <catch2/catch.hpp>

#include "contracts/coupon_issued.hpp"
#include "contracts/coupon_rejected.hpp"
#include "contracts/order_cancelled.hpp"
#include "contracts/order_completed.hpp"
#include "contracts/order_refunded.hpp"
#include "contracts/payment_completed.hpp"
#include "contracts/payment_failed.hpp"
#include "events/envelope.hpp"
#include "notification_sender/notifier.hpp"
#include "notification_sender/recipients.hpp"

using namespace paypipe;
using namespace paypipe::notification_sender;

namespace {

const std::string payment_id = "0190a6b2-7c3e-7abc-8def-00000000000a";
const std::string order_id = "0190a6b2-7c3e-7abc-8def-00000000000b";
const std::string request_id = "0190a6b2-7c3e-7abc-8def-00000000000c";
const std::string coupon_id = "0190a6b2-7c3e-7abc-8def-00000000000d";

events::Event event(std::string type, std::string data) {
  return events::make_event(std::move(type), "/test", order_id, std::move(data));
}

events::Event completed(std::string user = "alice") {
  return event("payment.completed",
               contracts::encode(contracts::PaymentCompleted{payment_id, order_id, std::move(user), 3000, "KRW",
                                                             "2027-01-15T08:00:00.000Z"}));
}

}  // namespace

TEST_CASE("every notified event becomes a notice carrying the ids that tell messages apart") {
  auto paid = notice_from(completed());
  REQUIRE(paid.ok());
  CHECK(paid->user_id == "alice");
  CHECK(paid->payment_id == payment_id);
  CHECK(paid->order_id == order_id);
  CHECK(paid->amount == 3000);

  auto failed = notice_from(event(
      "payment.failed", contracts::encode(contracts::PaymentFailed{payment_id, order_id, "bob", 500, "KRW",
                                                                   "INSUFFICIENT_FUNDS", "2027-01-15T08:00:00.000Z"})));
  REQUIRE(failed.ok());
  CHECK(failed->reason == "INSUFFICIENT_FUNDS");

  auto cancelled = notice_from(
      event("order.cancelled", contracts::encode(contracts::OrderCancelled{order_id,
                                                                           "carol",
                                                                           "EXPIRED",
                                                                           {{"seat-1", 1, 700}},
                                                                           700,
                                                                           "KRW",
                                                                           "2027-01-15T08:00:00.000Z"})));
  REQUIRE(cancelled.ok());
  CHECK(cancelled->order_id == order_id);
  CHECK(cancelled->payment_id.empty());

  auto issued = notice_from(event("coupon.issued", contracts::encode(contracts::CouponIssued{
                                                       request_id, coupon_id, "dave", payment_id, "Welcome 10%", 1000,
                                                       "2027-02-01T00:00:00.000Z", "2027-01-15T08:00:00.000Z"})));
  REQUIRE(issued.ok());
  CHECK(issued->request_id == request_id);
  CHECK(issued->coupon_name == "Welcome 10%");

  auto rejected = notice_from(
      event("coupon.rejected", contracts::encode(contracts::CouponRejected{
                                   request_id, coupon_id, "erin", "OUT_OF_STOCK", "2027-01-15T08:00:00.000Z"})));
  REQUIRE(rejected.ok());
  CHECK(rejected->reason == "OUT_OF_STOCK");
  CHECK(rejected->coupon_id == coupon_id);
}

TEST_CASE("an order event's notice has the order's lines and total, and its payment and reason where it has them") {
  const std::vector<contracts::OrderItem> items{
      {"seat-1", 2, 1500, std::string("Concert A"), std::string("2026-12-24"), std::string("Olympic Hall")}};
  const std::string at = "2027-01-15T08:00:00.000Z";
  auto check_order = [&](const core::Result<Notice>& notice, const std::string& payment, const std::string& reason) {
    REQUIRE(notice.ok());
    CHECK(notice->user_id == "grace");
    CHECK(notice->order_id == order_id);
    CHECK(notice->amount == 3000);
    CHECK(notice->currency == "KRW");
    CHECK(notice->items == items);
    CHECK(notice->payment_id == payment);
    CHECK(notice->reason == reason);
    CHECK(notice->request_id.empty());
    CHECK(notice->coupon_id.empty());
  };
  check_order(notice_from(event(std::string(contracts::OrderCompleted::type),
                                contracts::encode(contracts::OrderCompleted{order_id, "grace", items, 3000, "KRW",
                                                                            "SHIPPING", payment_id, at}))),
              payment_id, "");
  check_order(notice_from(event(std::string(contracts::OrderCancelled::type),
                                contracts::encode(contracts::OrderCancelled{order_id, "grace", "USER_CANCELLED", items,
                                                                            3000, "KRW", at}))),
              "", "USER_CANCELLED");
  check_order(notice_from(event(std::string(contracts::OrderRefunded::type),
                                contracts::encode(contracts::OrderRefunded{order_id, "grace", items, 3000, "KRW",
                                                                           payment_id, "ADMIN_REFUND", at}))),
              payment_id, "ADMIN_REFUND");
}

TEST_CASE("a refunded order is told to its user, with the amount and why") {
  auto refunded = notice_from(event(std::string(contracts::OrderRefunded::type),
                                    contracts::encode(contracts::OrderRefunded{order_id,
                                                                               "frank",
                                                                               {{"seat-1", 2, 1500}},
                                                                               3000,
                                                                               "KRW",
                                                                               payment_id,
                                                                               "USER_REQUESTED",
                                                                               "2027-01-15T08:00:00.000Z"})));
  REQUIRE(refunded.ok());
  CHECK(refunded->user_id == "frank");
  CHECK(refunded->order_id == order_id);
  CHECK(render(*refunded, Locale::en) ==
        "[paypipe] Order refunded: refunded on request\nRefunded: KRW 3,000\nOrder: " + order_id);
  CHECK(render(*refunded, Locale::ko) ==
        "[paypipe] 주문이 환불되었습니다: 고객 요청\n환불 금액: 3,000원\n주문번호: " + order_id);
}

TEST_CASE("an event notification-sender cannot read is refused as invalid input (a dead letter, not a retry)") {
  auto unknown = notice_from(event("product.sold-out", "{}"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().category == core::ErrorCategory::invalid_input);
  auto broken = notice_from(event("payment.completed", R"({"paymentId":"nope"})"));
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().category == core::ErrorCategory::invalid_input);
  CHECK(broken.error().message.find("payment.completed") != std::string::npos);
}

TEST_CASE("messages render in Korean and English with their ids") {
  const auto paid = *notice_from(completed());
  const auto ko = render(paid, Locale::ko);
  const auto en = render(paid, Locale::en);
  CHECK(ko == "[paypipe] 결제가 완료되었습니다.\n금액: 3,000원\n주문번호: " + order_id + "\n결제번호: " + payment_id);
  CHECK(en == "[paypipe] Payment completed.\nAmount: KRW 3,000\nOrder: " + order_id + "\nPayment: " + payment_id);

  Notice failed = paid;
  failed.type = contracts::PaymentFailed::type;
  failed.reason = "INSUFFICIENT_FUNDS";
  CHECK(render(failed, Locale::ko).find("잔액 부족") != std::string::npos);
  CHECK(render(failed, Locale::en).find("insufficient funds") != std::string::npos);
  failed.reason = "SOMETHING_NEW";
  CHECK(render(failed, Locale::en).find("SOMETHING_NEW") != std::string::npos);

  Notice coupon;
  coupon.type = contracts::CouponIssued::type;
  coupon.request_id = request_id;
  coupon.coupon_name = "Welcome";
  coupon.amount = 12000;
  coupon.valid_until = "2027-02-01T00:00:00.000Z";
  CHECK(render(coupon, Locale::ko) ==
        "[paypipe] 쿠폰이 발급되었습니다: Welcome\n할인: 12,000\n유효기간: 2027-02-01까지\n요청번호: " + request_id);
  coupon.valid_until.clear();
  CHECK(render(coupon, Locale::en).find("Valid until: none") != std::string::npos);

  for (const auto& type : notified_types()) {
    Notice n = paid;
    n.type = type;
    n.request_id = request_id;
    for (const auto locale : {Locale::ko, Locale::en}) {
      const auto text = render(n, locale);
      INFO(type << " " << to_string(locale) << ": " << text);
      CHECK(text.find('{') == std::string::npos);  // every placeholder filled
      const bool names_its_subject = text.find(order_id) != std::string::npos ||
                                     text.find(request_id) != std::string::npos;
      CHECK(names_its_subject);
    }
  }
}

TEST_CASE("amounts print in minor units the way each language writes them") {
  CHECK(format_amount(3000, "KRW", Locale::ko) == "3,000원");
  CHECK(format_amount(1234567, "KRW", Locale::en) == "KRW 1,234,567");
  CHECK(format_amount(0, "KRW", Locale::ko) == "0원");
  CHECK(format_amount(1250, "USD", Locale::en) == "USD 12.50");
  CHECK(format_amount(5, "USD", Locale::ko) == "USD 0.05");
  CHECK(format_amount(123456789, "EUR", Locale::en) == "EUR 1,234,567.89");
  CHECK(format_amount(500, "JPY", Locale::en) == "JPY 500");
}

TEST_CASE("the chat comes from the mapping, then from the rule for unmapped users") {
  Recipients r;
  r.chat_ids = {{"alice", "1001"}};
  CHECK(r.chat_for("alice") == "1001");
  CHECK_FALSE(r.chat_for("42").has_value());  // never the user id as it is
  r.unmapped = UnmappedUsers::default_chat;
  r.default_chat_id = "-100200";
  CHECK(r.chat_for("bob") == "-100200");
  r.unmapped = UnmappedUsers::skip;
  CHECK_FALSE(r.chat_for("bob").has_value());
  CHECK(r.chat_for("alice") == "1001");

  r.locales = {{"alice", Locale::en}};
  CHECK(r.locale_for("alice") == Locale::en);
  CHECK(r.locale_for("bob") == Locale::ko);

  CHECK(is_chat_id("123"));
  CHECK(is_chat_id("-1001234567890"));
  CHECK(is_chat_id("@paypipe_ops"));
  CHECK_FALSE(is_chat_id("@"));
  CHECK_FALSE(is_chat_id("12a"));
  CHECK_FALSE(is_chat_id(""));
  CHECK_FALSE(is_chat_id("-"));

  auto pairs = parse_pairs({"alice=1", "bob=@x"});
  REQUIRE(pairs.ok());
  CHECK(pairs->at("bob") == "@x");
  auto bad = parse_pairs({"alice", "=1", "bob="});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("'alice'") != std::string::npos);
  CHECK(bad.error().message.find("'bob='") != std::string::npos);
}

TEST_CASE("prepare picks chat and language, refuses a non-UUID event id, and logs skipped users") {
  Recipients r;
  r.locales = {{"alice", Locale::en}};
  r.chat_ids = {{"alice", "1001"}};
  auto sent = prepare(completed("alice"), r);
  REQUIRE(sent.entry);
  CHECK(sent.entry->status == "SENT");
  CHECK(sent.entry->chat_id == "1001");
  CHECK(sent.entry->reason.empty());
  CHECK(sent.entry->locale == "en");
  CHECK(sent.entry->text.rfind("[paypipe] Payment completed.", 0) == 0);
  CHECK(sent.entry->payment_id == payment_id);

  auto skipped = prepare(completed("bob"), r);  // no chat for bob: skipped, by default
  REQUIRE(skipped.entry);
  CHECK(skipped.entry->status == "SKIPPED");
  CHECK(skipped.entry->reason == "no-chat");
  CHECK_FALSE(skipped.entry->chat_id.has_value());

  auto bad_id = completed();
  bad_id.id = "not-a-uuid";
  auto refused = prepare(bad_id, r);
  CHECK_FALSE(refused.entry);
  CHECK(refused.outcome.kind == events::Outcome::Kind::fatal);

  auto undecodable = prepare(event("payment.completed", "{}"), r);
  CHECK_FALSE(undecodable.entry);
  CHECK(undecodable.outcome.kind == events::Outcome::Kind::fatal);
  CHECK(undecodable.outcome.error_class == "paypipe.notification-sender.UndecodableEvent");
}

TEST_CASE("a linked chat replaces the configured one, in the chat's language when it has one") {
  Recipients r;
  r.chat_ids = {{"alice", "1001"}};
  r.locales = {{"alice", Locale::en}};
  auto prepared = prepare(completed("alice"), r);
  REQUIRE(prepared.entry);
  auto entry = *prepared.entry;
  to_linked_chat(entry, prepared.notice, LinkedChat{"555", Locale::ko}, r, Templates::defaults());
  CHECK(entry.chat_id == "555");
  CHECK(entry.locale == "ko");
  CHECK(entry.text.rfind("[paypipe] 결제가 완료되었습니다.", 0) == 0);

  // A user with no configured chat (skipped) is sent to once linked; no chat language:
  // the user's configured one, else the default.
  auto skipped = prepare(completed("bob"), r);
  REQUIRE(skipped.entry);
  REQUIRE(skipped.entry->status == "SKIPPED");
  auto linked = *skipped.entry;
  to_linked_chat(linked, skipped.notice, LinkedChat{"777", std::nullopt}, r, Templates::defaults());
  CHECK(linked.status == "SENT");
  CHECK(linked.reason.empty());
  CHECK(linked.chat_id == "777");
  CHECK(linked.locale == "ko");
  auto alice = *prepared.entry;
  to_linked_chat(alice, prepared.notice, LinkedChat{"555", std::nullopt}, r, Templates::defaults());
  CHECK(alice.locale == "en");
}
