#include "contracts/common.hpp"

namespace paypipe::contracts {

void write_items(core::json::Writer& w, std::string_view name, const std::vector<OrderItem>& items) {
  w.begin_array(name);
  for (const auto& item : items) {
    w.begin_object()
        .field("productId", item.product_id)
        .field("quantity", item.quantity)
        .field("unitPrice", item.unit_price)
        .end_object();
  }
  w.end_array();
}

std::vector<OrderItem> read_items(core::json::Reader& in, const char* name) {
  std::vector<OrderItem> items;
  in.objects(name, 1, 100, [&](core::json::Reader& item) {
    items.push_back(OrderItem{item.text("productId", core::json::id_rule), item.integer("quantity", 1, 1000),
                              item.integer("unitPrice", 0, max_amount)});
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
