#include "dlq_retrier/parked_codec.hpp"

#include <charconv>

#include "core/json.hpp"
#include "core/time.hpp"
#include "events/dead_letter.hpp"
#include "http/request.hpp"

namespace paypipe::dlq_retrier {

namespace {

constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Length of the valid UTF-8 sequence at `i` (1..4), or 0 if it is not valid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

std::optional<std::int64_t> parse_positive(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

void optional_text(core::json::Writer& w, std::string_view name, const std::string& text) {
  if (text.empty()) w.key(name).null();
  else w.field(name, text);
}

// Bytes as text when they are text, null otherwise.
void bytes_as_text(core::json::Writer& w, std::string_view name, const std::optional<std::string>& bytes) {
  if (bytes && is_utf8(*bytes)) w.field(name, *bytes);
  else w.key(name).null();
}

std::string header_display(const events::KafkaHeader& h) {
  namespace dlt = events::dlt;
  if (h.name == dlt::original_partition) {
    if (const auto v = events::decode_int32(h.value)) return std::to_string(*v);
  }
  if (h.name == dlt::original_offset || h.name == dlt::original_timestamp) {
    if (const auto v = events::decode_int64(h.value)) return std::to_string(*v);
  }
  return h.value;
}

void summary_fields(core::json::Writer& w, const ParkedRecord& r) {
  w.field("id", r.id)
      .field("group", r.group)
      .field("status", r.status)
      .field("reason", r.reason)
      .field("reasonDetail", sanitize_utf8(r.reason_detail))
      .field("errorClass", sanitize_utf8(r.error_class))
      .field("message", sanitize_utf8(r.message))
      .field("attempt", r.attempt);
  optional_text(w, "originalTopic", r.original_topic);
  if (r.original_partition >= 0) w.field("originalPartition", static_cast<std::int64_t>(r.original_partition));
  else w.key("originalPartition").null();
  if (r.original_offset >= 0) w.field("originalOffset", r.original_offset);
  else w.key("originalOffset").null();
  if (r.original_timestamp_ms && *r.original_timestamp_ms >= 0) {
    w.field("originalTimestamp", core::format_rfc3339(core::from_unix_ms(*r.original_timestamp_ms)));
  } else {
    w.key("originalTimestamp").null();
  }
  w.field("dlqTopic", r.dlq_topic)
      .field("dlqPartition", static_cast<std::int64_t>(r.dlq_partition))
      .field("dlqOffset", r.dlq_offset);
  bytes_as_text(w, "key", r.key);
  if (r.key) w.field("keyBase64", base64_encode(*r.key));
  else w.key("keyBase64").null();
  w.field("valueSize", static_cast<std::int64_t>(r.value.size()));
  optional_text(w, "firstFailedAt", r.first_failed_at);
  optional_text(w, "failedAt", r.failed_at);
  optional_text(w, "parkedAt", r.parked_at);
  optional_text(w, "replayedAt", r.replayed_at);
  optional_text(w, "purgedAt", r.purged_at);
  w.field("replayCount", r.replay_count);
}

}  // namespace

bool is_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    const auto n = utf8_sequence(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const auto n = utf8_sequence(bytes, i);
    if (n == 0 || bytes[i] == '\0') {
      out += "\xEF\xBF\xBD";
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(bytes.substr(i, n));
    i += n;
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(base64_alphabet[(n >> 18) & 63]);
    out.push_back(base64_alphabet[(n >> 12) & 63]);
    out.push_back(base64_alphabet[(n >> 6) & 63]);
    out.push_back(base64_alphabet[n & 63]);
  }
  const auto rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(base64_alphabet[(n >> 18) & 63]);
    out.push_back(base64_alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? base64_alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=') return std::nullopt;  // "x=" followed by a digit
    std::uint32_t n = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      int v = 0;
      if (k >= 4 - pad) {
        if (c != '=') return std::nullopt;
      } else if ((v = value_of(c)) < 0) {
        return std::nullopt;
      }
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xFF));
  }
  return out;
}

core::Result<std::int64_t> parse_parked_id(std::string_view text) {
  if (const auto id = parse_positive(text)) return *id;
  return core::make_error(core::ErrorCategory::invalid_input, "bad-parked-id", "a parked id is a positive integer");
}

core::Result<ParkedQuery> parse_parked_query(const std::map<std::string, std::string>& params) {
  http::QueryReader in(params);
  ParkedQuery q;
  q.group = in.text("group");
  q.topic = in.text("topic");
  q.error_class = in.text("errorClass");
  if (auto s = in.text("status")) {
    if (*s == "ALL") {
      q.status.reset();
    } else if (*s == status::parked || *s == status::replayed || *s == status::purged) {
      q.status = *s;
    } else {
      in.fail("status must be one of PARKED, REPLAYED, PURGED, ALL");
    }
  }
  const auto page = in.page({50, static_cast<int>(max_page_size)});
  q.limit = static_cast<std::size_t>(page.limit);
  q.after_id = page.cursor.value_or(0);
  in.refuse_unread();
  if (auto status = in.status(); !status) return status.error();
  return q;
}

std::string page_json(const ParkedPage& page) {
  core::json::Writer w;
  w.begin_object().begin_array("items");
  for (const auto& r : page.items) {
    w.begin_object();
    summary_fields(w, r);
    w.end_object();
  }
  w.end_array();
  http::write_next_cursor(w, page.next_after_id);
  return w.end_object().take();
}

std::string detail_json(const ParkedRecord& r) {
  core::json::Writer w;
  w.begin_object();
  summary_fields(w, r);
  bytes_as_text(w, "value", r.value);
  w.field("valueBase64", base64_encode(r.value));
  w.begin_array("headers");
  for (const auto& h : r.headers) {
    const auto shown = header_display(h);
    w.begin_object().field("name", sanitize_utf8(h.name));
    if (is_utf8(shown)) w.field("value", shown);
    else w.key("value").null();
    w.field("valueBase64", base64_encode(h.value)).end_object();
  }
  w.end_array();
  return w.end_object().take();
}

std::string replay_group_json(const std::string& group, std::int64_t replayed) {
  core::json::Writer w;
  return w.begin_object().field("group", group).field("replayed", replayed).end_object().take();
}

}  // namespace paypipe::dlq_retrier
