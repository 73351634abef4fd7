#include "core/json.hpp"

#include <rapidjson/error/en.h>

#include <cctype>
#include <new>

#include "core/time.hpp"
#include "core/uuid.hpp"

namespace paypipe::core::json {

namespace {
// With RapidJSON's chunk header, a malloc of 1 KiB: glibc serves that size from its
// per-thread cache, where a larger one may first consolidate the heap's free lists.
constexpr std::size_t small_chunk_bytes = 1000;
}  // namespace

Result<Document> parse(std::string_view text) {
  Document doc;
  // RapidJSON's pool takes 64 KiB for a document's first value (a malloc and a free that
  // large per request body and token showed in payment-api's profile, with the glibc
  // consolidation it triggers): the documents we parse need a few hundred bytes, so the
  // document's own pool, still empty, is replaced by one of small chunks.
  auto& pool = doc.GetAllocator();
  pool.~MemoryPoolAllocator();
  new (&pool) rapidjson::MemoryPoolAllocator<>(small_chunk_bytes);
  // Iterative: hostile nesting cannot overflow the stack. Trailing values are an error.
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return make_error(ErrorCategory::invalid_input, "malformed-json",
                      std::string("malformed JSON at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
                          rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return doc;
}

Reader::Reader(const Value& object) : object_(&object), errors_(&own_errors_) {
  if (!object.IsObject()) errors_->push_back("body: must be a JSON object");
}

Reader::Reader(const Value& object, std::string path, std::vector<std::string>* errors)
    : object_(&object), path_(std::move(path)), errors_(errors) {
  if (!object.IsObject()) errors_->push_back((path_.empty() ? std::string("body") : path_) + ": must be an object");
}

std::string Reader::where(const char* name) const { return path_.empty() ? name : path_ + "." + name; }

void Reader::fail(const std::string& field, const std::string& message) { errors_->push_back(field + ": " + message); }

bool Reader::has(const char* name) const {
  if (!object_->IsObject()) return false;
  const auto it = object_->FindMember(name);
  return it != object_->MemberEnd() && !it->value.IsNull();
}

const Value* Reader::field(const char* name, bool required) {
  if (!object_->IsObject()) return nullptr;
  const auto it = object_->FindMember(name);
  if (it == object_->MemberEnd() || it->value.IsNull()) {
    if (required) fail(where(name), "is required");
    return nullptr;
  }
  return &it->value;
}

bool Reader::check_text(const char* name, std::string_view value, TextRule rule) {
  if (value.size() < rule.min_length || value.size() > rule.max_length) {
    fail(where(name),
         "must be " + std::to_string(rule.min_length) + " to " + std::to_string(rule.max_length) + " characters");
    return false;
  }
  if (rule.id_charset) {
    for (const char c : value) {
      const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                           c == '-' || c == '.' || c == ':';
      if (!allowed) {
        fail(where(name), "may contain only letters, digits and _ - . :");
        return false;
      }
    }
  }
  return true;
}

std::optional<std::string> Reader::optional_text(const char* name, TextRule rule) {
  const Value* value = field(name, false);
  if (value == nullptr) return std::nullopt;
  if (!value->IsString()) {
    fail(where(name), "must be a string");
    return std::nullopt;
  }
  std::string_view text(value->GetString(), value->GetStringLength());
  if (!check_text(name, text, rule)) return std::nullopt;
  return std::string(text);
}

std::string Reader::text(const char* name, TextRule rule) {
  if (!has(name)) {
    field(name, true);
    return {};
  }
  return optional_text(name, rule).value_or(std::string{});
}

std::optional<std::int64_t> Reader::optional_integer(const char* name, std::int64_t min, std::int64_t max) {
  const Value* value = field(name, false);
  if (value == nullptr) return std::nullopt;
  if (!value->IsInt64()) {
    fail(where(name), "must be an integer");
    return std::nullopt;
  }
  const std::int64_t number = value->GetInt64();
  if (number < min || number > max) {
    fail(where(name), "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::int64_t Reader::integer(const char* name, std::int64_t min, std::int64_t max) {
  if (!has(name)) {
    field(name, true);
    return 0;
  }
  return optional_integer(name, min, max).value_or(0);
}

bool Reader::boolean(const char* name) {
  const Value* value = field(name, true);
  if (value == nullptr) return false;
  if (!value->IsBool()) {
    fail(where(name), "must be true or false");
    return false;
  }
  return value->GetBool();
}

std::string Reader::uuid(const char* name) {
  std::string value = text(name, TextRule{1, 64, false});
  if (!value.empty() && !is_uuid(value)) {
    fail(where(name), "must be a UUID");
    return {};
  }
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

std::string Reader::timestamp(const char* name) {
  std::string value = text(name, TextRule{20, 40, false});
  if (!value.empty() && !parse_rfc3339(value)) {
    fail(where(name), "must be an RFC 3339 date-time");
    return {};
  }
  return value;
}

std::string Reader::one_of(const char* name, std::initializer_list<std::string_view> allowed) {
  std::string value = text(name, TextRule{1, 64, false});
  if (value.empty()) return value;
  for (const auto option : allowed) {
    if (value == option) return value;
  }
  std::string list;
  for (const auto option : allowed) {
    if (!list.empty()) list += ", ";
    list += option;
  }
  fail(where(name), "must be one of " + list);
  return {};
}

Reader Reader::object(const char* name) {
  static const Value empty(rapidjson::kObjectType);
  const Value* value = field(name, true);
  if (value == nullptr) return Reader(empty, where(name), errors_);
  return Reader(*value, where(name), errors_);
}

Status Reader::status() const {
  if (errors_->empty()) return {};
  std::string message;
  for (const auto& e : *errors_) {
    if (!message.empty()) message += "; ";
    message += e;
  }
  return make_error(ErrorCategory::invalid_input, "validation-failed", message);
}

Writer::Writer() : writer_(buffer_) {}

Writer& Writer::begin_object() {
  writer_.StartObject();
  return *this;
}
Writer& Writer::begin_object(std::string_view name) {
  key(name);
  return begin_object();
}
Writer& Writer::end_object() {
  writer_.EndObject();
  return *this;
}
Writer& Writer::begin_array() {
  writer_.StartArray();
  return *this;
}
Writer& Writer::begin_array(std::string_view name) {
  key(name);
  return begin_array();
}
Writer& Writer::end_array() {
  writer_.EndArray();
  return *this;
}
Writer& Writer::key(std::string_view name) {
  writer_.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  return *this;
}
Writer& Writer::value(std::string_view text) {
  writer_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return *this;
}
Writer& Writer::value(std::int64_t number) {
  writer_.Int64(number);
  return *this;
}
Writer& Writer::value(double number) {
  writer_.Double(number);
  return *this;
}
Writer& Writer::value(bool flag) {
  writer_.Bool(flag);
  return *this;
}
Writer& Writer::null() {
  writer_.Null();
  return *this;
}
Writer& Writer::raw(std::string_view json) {
  writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

std::string Writer::take() {
  std::string out(buffer_.GetString(), buffer_.GetSize());
  buffer_.Clear();
  writer_.Reset(buffer_);
  return out;
}

std::string quote(std::string_view text) {
  Writer w;
  w.value(text);
  return w.take();
}

}  // namespace paypipe::core::json
