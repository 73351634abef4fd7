#pragma once
// JSON reading and writing on RapidJSON, in the one style every codec uses:
//
//   auto doc = json::parse(body);                    // Result<Document>
//   json::Reader in(*doc);                            // collects every field error
//   Deposit d{in.text("userId", json::id_rule), in.integer("amount", 1, kMaxAmount)};
//   if (auto s = in.status(); !s) return s.error();   // invalid_input naming each field
//
//   json::Writer out;  out.begin_object().field("id", id).field("amount", 100).end_object();
//   std::string text = out.take();

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace paypipe::core::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;

// Parses `text` (any size up to what the caller already limited). The error names the
// offset and RapidJSON's reason.
Result<Document> parse(std::string_view text);

// What a string field must look like.
struct TextRule {
  std::size_t min_length = 1;
  std::size_t max_length = 256;
  bool id_charset = false;  // only [A-Za-z0-9_.:-]
};
inline constexpr TextRule id_rule{1, 64, true};
inline constexpr TextRule free_text_rule{1, 1000, false};

// Typed access to an object's fields. A missing or wrong field records an error and
// returns an empty value, so a decoder reads every field and reports all errors at once.
class Reader {
 public:
  explicit Reader(const Value& object);
  Reader(const Value& object, std::string path, std::vector<std::string>* errors);

  bool has(const char* name) const;

  std::string text(const char* name, TextRule rule = {});
  std::optional<std::string> optional_text(const char* name, TextRule rule = {});
  std::int64_t integer(const char* name, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_integer(const char* name, std::int64_t min, std::int64_t max);
  bool boolean(const char* name);
  std::string uuid(const char* name);
  std::string timestamp(const char* name);  // RFC 3339, returned as given
  // One of `allowed`; the error lists them.
  std::string one_of(const char* name, std::initializer_list<std::string_view> allowed);

  // Calls each(Reader&) for every element (objects) of a required array of
  // [min_items, max_items] elements.
  template <typename Each>
  void objects(const char* name, std::size_t min_items, std::size_t max_items, Each&& each);

  Reader object(const char* name);

  // Records a rule that spans fields ("validUntil must be after validFrom").
  void fail(const std::string& field, const std::string& message);

  bool ok() const { return errors_->empty(); }
  // invalid_input listing every field error, or success.
  Status status() const;

 private:
  const Value* field(const char* name, bool required);
  std::string where(const char* name) const;
  bool check_text(const char* name, std::string_view value, TextRule rule);

  const Value* object_;
  std::string path_;
  std::vector<std::string> own_errors_;
  std::vector<std::string>* errors_;
};

template <typename Each>
void Reader::objects(const char* name, std::size_t min_items, std::size_t max_items, Each&& each) {
  const Value* value = field(name, true);
  if (value == nullptr) return;
  if (!value->IsArray()) {
    fail(where(name), "must be an array");
    return;
  }
  const auto size = value->Size();
  if (size < min_items || size > max_items) {
    fail(where(name), "must have " + std::to_string(min_items) + " to " + std::to_string(max_items) + " items");
    return;
  }
  for (rapidjson::SizeType i = 0; i < size; ++i) {
    Reader item((*value)[i], where(name) + "[" + std::to_string(i) + "]", errors_);
    each(item);
  }
}

// A streaming writer; fields are written in call order.
class Writer {
 public:
  Writer();

  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& begin_array(std::string_view name);
  Writer& end_array();
  Writer& begin_object(std::string_view name);

  Writer& key(std::string_view name);
  Writer& value(std::string_view text);
  Writer& value(const char* text) { return value(std::string_view(text)); }
  Writer& value(const std::string& text) { return value(std::string_view(text)); }
  Writer& value(std::int64_t number);
  Writer& value(int number) { return value(static_cast<std::int64_t>(number)); }
  Writer& value(double number);
  Writer& value(bool flag);
  Writer& null();
  // Inserts already-serialised JSON as it is (trusted: our own encoder's output or jsonb).
  Writer& raw(std::string_view json);

  template <typename T>
  Writer& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  template <typename T>
  Writer& field(std::string_view name, const std::optional<T>& v) {
    key(name);
    return v ? value(*v) : null();
  }
  Writer& raw_field(std::string_view name, std::string_view json) {
    key(name);
    return raw(json);
  }

  std::string take();
  std::string_view view() const { return {buffer_.GetString(), buffer_.GetSize()}; }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

// Escapes `text` as a JSON string literal including the quotes.
std::string quote(std::string_view text);

}  // namespace paypipe::core::json
