#include "contracts/common.hpp"

#include <algorithm>

#include "core/time.hpp"

namespace paypipe::contracts {

bool same_lines(const std::vector<OrderItem>& a, const std::vector<OrderItem>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const OrderItem& x, const OrderItem& y) {
    return x.product_id == y.product_id && x.quantity == y.quantity && x.unit_price == y.unit_price;
  });
}

void write_items(core::json::Writer& w, std::string_view name, const std::vector<OrderItem>& items) {
  w.begin_array(name);
  for (const auto& item : items) {
    w.begin_object()
        .field("productId", item.product_id)
        .field("quantity", item.quantity)
        .field("unitPrice", item.unit_price);
    // Absent rather than null: the schema's optional fields are strings when present.
    if (item.name) w.field("name", *item.name);
    if (item.event_date) w.field("eventDate", *item.event_date);
    if (item.venue) w.field("venue", *item.venue);
    w.end_object();
  }
  w.end_array();
}

std::vector<OrderItem> read_items(core::json::Reader& in, const char* name) {
  std::vector<OrderItem> items;
  in.objects(name, 1, 100, [&](core::json::Reader& item) {
    OrderItem line{item.text("productId", core::json::id_rule), item.integer("quantity", 1, 1000),
                   item.integer("unitPrice", 0, max_amount)};
    line.name = item.optional_text("name", core::json::TextRule{1, 200, false});
    line.event_date = read_event_date(item, "eventDate");
    line.venue = item.optional_text("venue", core::json::TextRule{1, 200, false});
    items.push_back(std::move(line));
  });
  return items;
}

namespace {

int digits(std::string_view text) {
  int value = 0;
  for (const char c : text) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

bool is_calendar_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (const std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  const int year = digits(text.substr(0, 4)), month = digits(text.substr(5, 2)), day = digits(text.substr(8, 2));
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= days_in[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::optional<std::string> read_date(core::json::Reader& in, const char* name) {
  auto text = in.optional_text(name, core::json::TextRule{10, 10, false});
  if (text && !is_calendar_date(*text)) {
    in.fail(name, "must be a calendar date YYYY-MM-DD");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> read_event_date(core::json::Reader& in, const char* name) {
  auto text = in.optional_text(name, core::json::TextRule{10, 40, false});
  if (!text) return text;
  if (text->size() == 10 ? !is_calendar_date(*text)
                         : !(is_calendar_date(text->substr(0, 10)) && core::parse_rfc3339(*text))) {
    in.fail(name, "must be a date YYYY-MM-DD or an RFC 3339 date and time with its offset");
    return std::nullopt;
  }
  return text;
}

std::string event_day(std::string_view event_date) { return std::string(event_date.substr(0, 10)); }

std::string read_currency(core::json::Reader& in, const char* name) {
  auto value = in.text(name, core::json::TextRule{3, 3, false});
  for (const char c : value) {
    if (c < 'A' || c > 'Z') {
      in.fail(name, "must be three upper-case letters");
      return {};
    }
  }
  return value;
}

}  // namespace paypipe::contracts
