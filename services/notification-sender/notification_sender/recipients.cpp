#include "notification_sender/recipients.hpp"

#include <algorithm>

#include "core/metrics.hpp"

namespace paypipe::notification_sender {

std::optional<std::string> Recipients::chat_for(std::string_view user_id) const {
  if (const auto it = chat_ids.find(user_id); it != chat_ids.end()) return it->second;
  if (unmapped == UnmappedUsers::default_chat && !default_chat_id.empty()) return default_chat_id;
  return std::nullopt;
}

Locale Recipients::locale_for(std::string_view user_id) const {
  if (const auto it = locales.find(user_id); it != locales.end()) return it->second;
  return default_locale;
}

void count_skipped(std::string_view reason) {
  static auto& family = prometheus::BuildCounter()
                            .Name("notifications_skipped_total")
                            .Help("Events finished without a message, by reason (no-chat: the user has no chat)")
                            .Register(core::metrics::registry());
  family.Add({{"reason", std::string(reason)}}).Increment();
}

bool is_chat_id(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  if (text.front() == '@') {
    return text.size() > 1 && std::all_of(text.begin() + 1, text.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
           });
  }
  const auto digits = text.front() == '-' ? text.substr(1) : text;
  return !digits.empty() && digits.size() <= 19 &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

core::Result<std::map<std::string, std::string, std::less<>>> parse_pairs(const std::vector<std::string>& items) {
  std::map<std::string, std::string, std::less<>> pairs;
  std::string problems;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      problems += (problems.empty() ? "" : "; ") + ("'" + item + "' is not key=value");
      continue;
    }
    pairs[item.substr(0, eq)] = item.substr(eq + 1);
  }
  if (!problems.empty()) return core::make_error(core::ErrorCategory::invalid_input, "bad-pairs", problems);
  return pairs;
}

}  // namespace paypipe::notification_sender
