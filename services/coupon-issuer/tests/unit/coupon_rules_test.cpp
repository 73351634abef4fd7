#include "coupon_issuer/coupon_rules.hpp"

#include <catch2/catch.hpp>

using namespace paypipe;
using namespace paypipe::coupon_issuer;
using namespace std::chrono_literals;

namespace {

const auto opens = core::from_unix_ms(1'800'000'000'000);
const std::string coupon = "0190a6b2-7c3e-7abc-8def-00000000000c";

CouponBook book_with(std::int64_t stock, std::set<std::string> holders = {}) {
  CouponBook book;
  CouponState state;
  state.coupon_id = coupon;
  state.remaining_stock = stock;
  state.valid_from = opens;
  state.valid_until = opens + 24h;
  state.holders = std::move(holders);
  book.coupons[coupon] = state;
  return book;
}

CouponRequest ask(const std::string& user, core::SystemTime at = opens + 1h, const std::string& id = coupon) {
  return CouponRequest{"r-" + user, id, user, at};
}

}  // namespace

TEST_CASE("requests are issued in arrival order until the stock runs out") {
  auto book = book_with(2);
  CHECK(decide(ask("a"), book) == Verdict::issued);
  CHECK(decide(ask("b"), book) == Verdict::issued);
  CHECK(decide(ask("c"), book) == Verdict::out_of_stock);
  CHECK(decide(ask("d"), book) == Verdict::out_of_stock);
  CHECK(book.coupons[coupon].remaining_stock == 0);
  CHECK(book.coupons[coupon].holders == std::set<std::string>{"a", "b"});
}

TEST_CASE("one coupon per user, within a batch and against what the database holds") {
  auto book = book_with(10, {"old"});
  CHECK(decide(ask("old"), book) == Verdict::already_issued);
  CHECK(decide(ask("new"), book) == Verdict::issued);
  CHECK(decide(ask("new"), book) == Verdict::already_issued);
  CHECK(book.coupons[coupon].remaining_stock == 9);
}

TEST_CASE("a holder asking after the stock ran out hears ALREADY_ISSUED, the more useful answer") {
  auto book = book_with(1);
  CHECK(decide(ask("a"), book) == Verdict::issued);
  CHECK(decide(ask("a"), book) == Verdict::already_issued);
  CHECK(decide(ask("b"), book) == Verdict::out_of_stock);
}

TEST_CASE("the validity window [validFrom, validUntil) is judged at the time of the request") {
  auto book = book_with(10);
  CHECK(decide(ask("early", opens - 1ms), book) == Verdict::expired);
  CHECK(decide(ask("first", opens), book) == Verdict::issued);
  CHECK(decide(ask("last", opens + 24h - 1ms), book) == Verdict::issued);
  CHECK(decide(ask("late", opens + 24h), book) == Verdict::expired);
  // An expired coupon stays expired for its holders too, and never costs stock.
  CHECK(decide(ask("first", opens + 25h), book) == Verdict::expired);
  CHECK(book.coupons[coupon].remaining_stock == 8);
}

TEST_CASE("an unknown coupon is NOT_FOUND before anything else") {
  auto book = book_with(0);
  CHECK(decide(ask("a", opens - 1h, "0190a6b2-7c3e-7abc-8def-0000000000ff"), book) == Verdict::not_found);
}

TEST_CASE("reasons are the contract's words") {
  CHECK(reason_of(Verdict::issued).empty());
  CHECK(reason_of(Verdict::not_found) == "NOT_FOUND");
  CHECK(reason_of(Verdict::expired) == "EXPIRED");
  CHECK(reason_of(Verdict::already_issued) == "ALREADY_ISSUED");
  CHECK(reason_of(Verdict::out_of_stock) == "OUT_OF_STOCK");
}
