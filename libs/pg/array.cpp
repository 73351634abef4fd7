#include "pg/array.hpp"

namespace paypipe::pg {

ArrayParam::ArrayParam(std::size_t elements, std::size_t element_bytes) : text_("{") {
  text_.reserve(2 + elements * (element_bytes + 3));
}

void ArrayParam::add(std::string_view element) {
  if (size_++ > 0) text_.push_back(',');
  text_.push_back('"');
  for (const char c : element) {
    if (c == '"' || c == '\\') text_.push_back('\\');
    text_.push_back(c);
  }
  text_.push_back('"');
}

void ArrayParam::add(std::int64_t element) {
  if (size_++ > 0) text_.push_back(',');
  text_ += std::to_string(element);
}

Param ArrayParam::take() && {
  text_.push_back('}');
  return std::move(text_);
}

}  // namespace paypipe::pg
