#include "core/trace.hpp"

#include <random>

namespace paypipe::core {

namespace {

thread_local TraceContext current;

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digits);
  while (out.size() < digits) {
    std::uint64_t bits = rng();
    for (int i = 0; i < 16 && out.size() < digits; ++i, bits >>= 4) out.push_back(hex[bits & 0xF]);
  }
  return out;
}

bool is_lower_hex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view text) { return text.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

std::string TraceContext::traceparent() const { return "00-" + trace_id + "-" + span_id + (sampled ? "-01" : "-00"); }

TraceContext TraceContext::child() const { return TraceContext{trace_id, random_hex(16), sampled}; }

TraceContext TraceContext::generate() { return TraceContext{random_hex(32), random_hex(16), true}; }

std::optional<TraceContext> TraceContext::parse(std::string_view text) {
  // version(2) - trace-id(32) - parent-id(16) - flags(2)
  if (text.size() < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  const auto version = text.substr(0, 2);
  const auto trace_id = text.substr(3, 32);
  const auto span_id = text.substr(36, 16);
  const auto flags = text.substr(53, 2);
  if (!is_lower_hex(version) || version == "ff" || !is_lower_hex(trace_id) || !is_lower_hex(span_id) ||
      !is_lower_hex(flags) || all_zero(trace_id) || all_zero(span_id)) {
    return std::nullopt;
  }
  if (version == "00" && text.size() != 55) return std::nullopt;
  const int flag_bits = std::stoi(std::string(flags), nullptr, 16);
  return TraceContext{std::string(trace_id), std::string(span_id), (flag_bits & 1) != 0};
}

const TraceContext& current_trace() { return current; }

TraceScope::TraceScope(TraceContext context) : previous_(std::move(current)) { current = std::move(context); }

TraceScope::~TraceScope() { current = std::move(previous_); }

}  // namespace paypipe::core
