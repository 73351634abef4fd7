#pragma once
// An array parameter built element by element straight into PostgreSQL's array literal
// (`{"a","b"}`), for the set-based statements of a batch (`unnest($1::uuid[], ...)`):
// one string per column, not a vector of copied elements and then the literal.
//
//   pg::ArrayParam ids;  for (const auto& p : batch) ids.add(p.id);
//   pipeline.add("... unnest($1::uuid[]) ...", ids);

#include <cstdint>
#include <string>
#include <string_view>

#include "pg/pg.hpp"

namespace paypipe::pg {

class ArrayParam {
 public:
  ArrayParam() : text_("{") {}
  // With room for `elements` of about `element_bytes` each.
  ArrayParam(std::size_t elements, std::size_t element_bytes);

  void add(std::string_view element);
  void add(std::int64_t element);
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The literal; the builder is spent.
  Param take() &&;
  // A copy of the literal (pipeline.add(sql, array) takes its arguments by reference).
  Param literal() const { return text_ + "}"; }

 private:
  std::string text_;
  std::size_t size_ = 0;
};

inline Param to_param(const ArrayParam& array) { return array.literal(); }

}  // namespace paypipe::pg
