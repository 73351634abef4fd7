#include "dlq_retrier/waiting.hpp"

#include <algorithm>
#include <charconv>
#include <iomanip>
#include <sstream>

#include "core/json.hpp"
#include "dlq_retrier/parked_codec.hpp"
#include "events/dead_letter.hpp"

namespace paypipe::dlq_retrier {

WaitingRecord view_of(const events::ConsumedRecord& dead_letter, const events::KafkaOptions& options,
                      const RetrySchedule& schedule, core::SystemTime now) {
  auto group = group_of_dlq_topic(dead_letter.topic, options).value_or(std::string{});
  // The same reading of the headers as a parked row's.
  const auto fields = parked_record_of(dead_letter, group, "", "");
  WaitingRecord w;
  w.group = std::move(group);
  w.topic = dead_letter.topic;
  w.partition = dead_letter.partition;
  w.offset = dead_letter.offset;
  w.key = dead_letter.key;
  w.value_size = dead_letter.value.size();
  w.attempt = fields.attempt;
  w.error_class = fields.error_class;
  w.message = fields.message;
  w.original_topic = fields.original_topic;
  w.failed_at = fields.failed_at;
  w.first_failed_at = fields.first_failed_at;
  w.timestamp_ms = dead_letter.timestamp_ms;
  const auto decision = decide(dead_letter, options, schedule, now);
  if (const auto* park = std::get_if<Park>(&decision)) {
    w.next = next_step::park;
    w.park_reason = park->record.reason;
    w.park_detail = park->record.reason_detail;
  } else if (const auto* wait = std::get_if<Wait>(&decision)) {
    w.next = next_step::retry;
    w.due_at = core::format_rfc3339(wait->until);
  } else {
    w.next = next_step::retry;
    // Due already: failed-at + its delay, which decide() found in the past.
    const auto failed = core::parse_rfc3339(w.failed_at);
    w.due_at = core::format_rfc3339(failed ? *failed + schedule.delay(w.group, w.attempt) : now);
  }
  return w;
}

namespace {

// When a record failed, for "oldest": its failed-at, else when it reached dlq.<group>.
core::SystemTime failed_time(const WaitingRecord& r) {
  if (auto t = core::parse_rfc3339(r.failed_at)) return *t;
  return core::from_unix_ms(r.timestamp_ms);
}

}  // namespace

GroupSummary summarize(const std::string& group, const std::string& topic, const std::vector<WaitingRecord>& records,
                       bool complete, std::int64_t span, core::SystemTime now) {
  GroupSummary s;
  s.group = group;
  s.topic = topic;
  s.complete = complete;
  s.waiting_span = span;
  s.waiting = static_cast<std::int64_t>(records.size());
  std::map<std::string, ReasonCount> reasons;
  std::map<std::string, core::SystemTime> newest_of_reason;
  for (const auto& r : records) {
    if (r.next == next_step::park) {
      ++s.to_park;
    } else if (auto due = core::parse_rfc3339(r.due_at); due && *due <= now) {
      ++s.due_now;
    }
    const auto failed = failed_time(r);
    if (!s.oldest || failed < failed_time(*s.oldest)) s.oldest = r;
    auto& reason = reasons[r.error_class];
    reason.error_class = r.error_class;
    ++reason.count;
    auto [it, first] = newest_of_reason.try_emplace(r.error_class, failed);
    if (first || failed >= it->second) {
      it->second = failed;
      reason.message = r.message;
    }
  }
  for (auto& [name, reason] : reasons) s.reasons.push_back(std::move(reason));
  std::stable_sort(s.reasons.begin(), s.reasons.end(),
                   [](const ReasonCount& a, const ReasonCount& b) { return a.count > b.count; });
  return s;
}

core::Result<Republish> retry_now(const events::ConsumedRecord& dead_letter, const events::KafkaOptions& options) {
  auto group = group_of_dlq_topic(dead_letter.topic, options);
  if (!group) {
    return core::make_error(core::ErrorCategory::invalid_input, "not-a-dead-letter-topic",
                            dead_letter.topic + " is not a dlq.<group> topic");
  }
  const int next = events::attempt_of(dead_letter.headers) + 1;
  auto record = events::retry_record(dead_letter, options.topic(events::retry_topic(*group)), next);
  return Republish{std::move(record), std::move(*group), next};
}

core::Result<WaitingCursor> parse_waiting_cursor(std::string_view text) {
  auto bad = [] {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-cursor",
                            "cursor must be nextCursor of the previous page (<partition>:<offset>)");
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return bad();
  WaitingCursor c;
  const auto p = text.substr(0, colon);
  const auto o = text.substr(colon + 1);
  auto [pe, pec] = std::from_chars(p.data(), p.data() + p.size(), c.partition);
  auto [oe, oec] = std::from_chars(o.data(), o.data() + o.size(), c.offset);
  if (p.empty() || o.empty() || pec != std::errc() || oec != std::errc() || pe != p.data() + p.size() ||
      oe != o.data() + o.size() || c.partition < 0 || c.offset < 0) {
    return bad();
  }
  return c;
}

std::string format_waiting_cursor(const WaitingCursor& cursor) {
  return std::to_string(cursor.partition) + ":" + std::to_string(cursor.offset);
}

core::Result<std::string> parse_group(std::string_view text) {
  const bool ok = !text.empty() && text.size() <= 200 && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
  if (!ok) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-group",
                            "a consumer group is 1 to 200 characters of [A-Za-z0-9._-]");
  }
  return std::string(text);
}

core::Result<std::string> parse_skip_reason(std::string_view text) {
  if (text.empty() || text.size() > 1000 || !is_utf8(text)) {
    return core::make_error(core::ErrorCategory::invalid_input, "bad-reason",
                            "give the reason to skip: 1 to 1000 characters of text");
  }
  return std::string(text);
}

namespace {

void optional_text(core::json::Writer& w, std::string_view name, const std::string& text) {
  if (text.empty()) w.key(name).null();
  else w.field(name, sanitize_utf8(text));
}

void record_fields(core::json::Writer& w, const WaitingRecord& r) {
  w.field("group", r.group)
      .field("topic", r.topic)
      .field("partition", static_cast<std::int64_t>(r.partition))
      .field("offset", r.offset);
  if (r.key && is_utf8(*r.key)) w.field("key", *r.key);
  else w.key("key").null();
  if (r.key) w.field("keyBase64", base64_encode(*r.key));
  else w.key("keyBase64").null();
  w.field("valueSize", static_cast<std::int64_t>(r.value_size))
      .field("attempt", r.attempt)
      .field("errorClass", sanitize_utf8(r.error_class))
      .field("message", sanitize_utf8(r.message));
  optional_text(w, "originalTopic", r.original_topic);
  optional_text(w, "failedAt", r.failed_at);
  optional_text(w, "firstFailedAt", r.first_failed_at);
  w.field("next", r.next);
  optional_text(w, "dueAt", r.due_at);
  optional_text(w, "parkReason", r.park_reason);
  optional_text(w, "parkDetail", r.park_detail);
}

}  // namespace

std::string summaries_json(const std::vector<GroupSummary>& summaries) {
  core::json::Writer w;
  w.begin_object().begin_array("groups");
  for (const auto& s : summaries) {
    w.begin_object()
        .field("group", s.group)
        .field("topic", s.topic)
        .field("waiting", s.waiting)
        .field("complete", s.complete)
        .field("waitingSpan", s.waiting_span)
        .field("dueNow", s.due_now)
        .field("toPark", s.to_park);
    if (s.oldest) {  // the record that failed first; absent when none waits
      w.begin_object("oldest");
      record_fields(w, *s.oldest);
      w.end_object();
    }
    w.begin_array("reasons");
    for (const auto& r : s.reasons) {
      w.begin_object()
          .field("errorClass", sanitize_utf8(r.error_class))
          .field("count", r.count)
          .field("message", sanitize_utf8(r.message))
          .end_object();
    }
    w.end_array().end_object();
  }
  return w.end_array().end_object().take();
}

std::string waiting_page_json(const WaitingPage& page) {
  core::json::Writer w;
  w.begin_object().field("group", page.group).begin_array("items");
  for (const auto& r : page.items) {
    w.begin_object();
    record_fields(w, r);
    w.end_object();
  }
  w.end_array();
  if (page.next) w.field("nextCursor", format_waiting_cursor(*page.next));
  else w.key("nextCursor").null();
  return w.end_object().take();
}

std::string retried_json(const RetriedRecord& r) {
  core::json::Writer w;
  return w.begin_object()
      .field("group", r.group)
      .field("topic", r.topic)
      .field("partition", static_cast<std::int64_t>(r.partition))
      .field("offset", r.offset)
      .field("retryTopic", r.retry_topic)
      .field("attempt", r.attempt)
      .field("retriedAt", r.retried_at)
      .field("alreadyRetried", r.already)
      .end_object()
      .take();
}

std::string retry_all_json(const std::string& group, std::int64_t retried) {
  core::json::Writer w;
  return w.begin_object().field("group", group).field("retried", retried).end_object().take();
}

namespace {

std::string one_line(std::string text, std::size_t width) {
  text = sanitize_utf8(text);
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() <= width) return text;
  std::size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

}  // namespace

std::string format_summaries(const std::vector<GroupSummary>& summaries) {
  std::ostringstream out;
  out << std::left << std::setw(28) << "GROUP" << std::setw(10) << "WAITING" << std::setw(9) << "DUE NOW"
      << std::setw(9) << "TO PARK" << std::setw(26) << "OLDEST FAILED AT"
      << "REASONS\n";
  for (const auto& s : summaries) {
    std::string reasons;
    for (const auto& r : s.reasons) {
      if (!reasons.empty()) reasons += ", ";
      reasons += (r.error_class.empty() ? std::string("-") : r.error_class) + " x" + std::to_string(r.count);
    }
    std::string oldest = "-";
    if (s.oldest) {
      oldest = s.oldest->failed_at.empty() ? core::format_rfc3339(core::from_unix_ms(s.oldest->timestamp_ms))
                                           : s.oldest->failed_at;
    }
    out << std::left << std::setw(28) << one_line(s.group, 27) << std::setw(10)
        << (std::to_string(s.waiting) + (s.complete ? "" : "+")) << std::setw(9) << s.due_now << std::setw(9)
        << s.to_park << std::setw(26) << oldest << one_line(reasons.empty() ? "-" : reasons, 100) << "\n";
  }
  out << summaries.size() << " group(s)\n";
  return out.str();
}

std::string format_waiting_page(const WaitingPage& page) {
  std::ostringstream out;
  out << std::left << std::setw(11) << "PARTITION" << std::setw(12) << "OFFSET" << std::setw(8) << "ATTEMPT"
      << std::setw(42) << "ERROR CLASS" << std::setw(26) << "FAILED AT" << std::setw(36) << "NEXT"
      << "MESSAGE\n";
  for (const auto& r : page.items) {
    const auto next = r.next == next_step::park ? "PARK (" + r.park_reason + ")" : "RETRY at " + r.due_at;
    out << std::left << std::setw(11) << r.partition << std::setw(12) << r.offset << std::setw(8) << r.attempt
        << std::setw(42) << one_line(r.error_class, 41) << std::setw(26) << (r.failed_at.empty() ? "-" : r.failed_at)
        << std::setw(36) << one_line(next, 35) << one_line(r.message, 80) << "\n";
  }
  out << page.items.size() << " record(s) of group " << page.group;
  if (page.next) out << "; more with --cursor " << format_waiting_cursor(*page.next);
  out << "\n";
  return out.str();
}

}  // namespace paypipe::dlq_retrier
