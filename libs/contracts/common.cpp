#include "contracts/common.hpp"

#include <algorithm>

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
    if (item.has("eventDate")) line.event_date = item.timestamp("eventDate");
    line.venue = item.optional_text("venue", core::json::TextRule{1, 200, false});
    items.push_back(std::move(line));
  });
  return items;
}

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
