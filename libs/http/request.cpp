#include "http/request.hpp"

#include <cctype>
#include <charconv>

#include "core/uuid.hpp"

namespace paypipe::http {

namespace {

core::Error invalid(const std::string& code, const std::string& message) {
  return core::make_error(core::ErrorCategory::invalid_input, code, message);
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool is_plain_id(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (const char c : text) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

core::Result<std::string> uuid_param(const Request& request, const std::string& name, const std::string& error_code) {
  std::string id(request.param(name));
  if (!core::is_uuid(id)) return invalid(error_code, name + " must be a UUID");
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id;
}

core::Result<std::string> plain_id_param(const Request& request, const std::string& name,
                                         const std::string& error_code) {
  std::string id(request.param(name));
  if (!is_plain_id(id)) return invalid(error_code, name + " may contain only letters, digits and _ - . : (1 to 64)");
  return id;
}

std::optional<std::string_view> QueryReader::raw(const std::string& name) {
  read_.insert(name);
  const auto it = query_.find(name);
  if (it == query_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string> QueryReader::text(const std::string& name, std::size_t max_size) {
  const auto value = raw(name);
  if (!value || value->empty()) return std::nullopt;
  if (value->size() > max_size) {
    fail(name + " must be at most " + std::to_string(max_size) + " characters");
    return std::nullopt;
  }
  return std::string(*value);
}

std::optional<std::string> QueryReader::plain_id(const std::string& name) {
  const auto value = raw(name);
  if (!value || value->empty()) return std::nullopt;
  if (!is_plain_id(*value)) {
    fail(name + " must be 1-64 characters of [A-Za-z0-9_.:-]");
    return std::nullopt;
  }
  return std::string(*value);
}

int QueryReader::limit(PageLimits limits) {
  const auto text = raw("limit");
  if (!text) return limits.fallback;
  const auto value = parse_integer(*text);
  if (!value || *value < 1 || *value > limits.max) {
    fail("limit must be an integer from 1 to " + std::to_string(limits.max));
    return limits.fallback;
  }
  return static_cast<int>(*value);
}

PageQuery QueryReader::page(PageLimits limits) {
  PageQuery page;
  page.limit = limit(limits);
  std::string name = "cursor";
  auto cursor = raw(name);
  if (const auto after = raw("after"); !cursor && after) {  // the deprecated alias
    cursor = after;
    name = "after";
  }
  if (cursor) {
    const auto value = parse_integer(*cursor);
    if (value && *value >= 0) page.cursor = *value;
    else fail(name + " must be the nextCursor of a previous page");
  }
  return page;
}

void QueryReader::fail(std::string problem) { problems_.push_back(std::move(problem)); }

void QueryReader::refuse_unread() {
  for (const auto& [name, value] : query_) {
    if (!read_.count(name)) fail(name + ": unknown parameter");
  }
}

core::Status QueryReader::status() const {
  if (problems_.empty()) return {};
  std::string message;
  for (const auto& p : problems_) message += (message.empty() ? "" : "; ") + p;
  return invalid("bad-query", message);
}

void write_next_cursor(core::json::Writer& w, std::optional<std::int64_t> next, bool legacy_next) {
  const auto text = next ? std::optional<std::string>(std::to_string(*next)) : std::nullopt;
  w.field("nextCursor", text);
  if (legacy_next) w.field("next", text);
}

Handler admin_only(std::string token, Handler handler) {
  return [token = std::move(token), handler = std::move(handler)](const Request& request) {
    if (auto allowed = require_bearer(request, token); !allowed) return error_response(allowed.error());
    return handler(request);
  };
}

}  // namespace paypipe::http
