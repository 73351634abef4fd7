#pragma once
// W3C Trace Context (traceparent) carried from an HTTP request through the outbox to
// every downstream event and log line.
//
// The current trace is thread-local: a request handler or a consumer sets it with a
// TraceScope for the duration of one unit of work, and the logger and the outbox
// writer read it.

#include <optional>
#include <string>
#include <string_view>

namespace paypipe::core {

struct TraceContext {
  std::string trace_id;  // 32 lowercase hex
  std::string span_id;   // 16 lowercase hex
  bool sampled = true;

  // "00-<trace_id>-<span_id>-<flags>"
  std::string traceparent() const;
  // The same trace with a new span id: what we send downstream.
  TraceContext child() const;

  static TraceContext generate();
  // Parses a traceparent header; nullopt for anything malformed (then callers start a
  // new trace rather than fail the request).
  static std::optional<TraceContext> parse(std::string_view traceparent);
};

// The trace of the work this thread is doing, or an empty context.
const TraceContext& current_trace();

class TraceScope {
 public:
  explicit TraceScope(TraceContext context);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TraceContext previous_;
};

}  // namespace paypipe::core
