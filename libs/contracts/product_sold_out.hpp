#pragma once
// The data of a `product.sold-out` event (proto/events/product.sold-out.v1.json): the struct, its encoder
// and its decoder. Producers and consumers of product.sold-out use this file, nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/common.hpp"
#include "core/error.hpp"

namespace paypipe::contracts {

struct ProductSoldOut;
// invalid_input naming every bad field.
core::Result<ProductSoldOut> decode_product_sold_out(std::string_view json);

struct ProductSoldOut {
  static constexpr std::string_view type = "dev.paypipe.product.sold-out.v1";
  // Its decoder, so that events::dispatch finds it from the type alone.
  static constexpr auto decode = &decode_product_sold_out;
  std::string product_id;
  std::optional<std::string> name;
  std::int64_t total_stock = 0;
  std::string sale_opens_at;  // RFC 3339
  std::string sold_out_at;  // RFC 3339
  std::optional<std::string> event_date{};  // YYYY-MM-DD, when the product is a ticket for a dated event
};

std::string encode(const ProductSoldOut& data);

}  // namespace paypipe::contracts
