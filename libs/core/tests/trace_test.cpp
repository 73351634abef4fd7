#include "core/trace.hpp"

#include <catch2/catch.hpp>

using paypipe::core::TraceContext;
using paypipe::core::TraceScope;

TEST_CASE("traceparent parses, prints and makes children in the same trace") {
  const auto parsed = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(parsed);
  CHECK(parsed->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(parsed->traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  const auto child = parsed->child();
  CHECK(child.trace_id == parsed->trace_id);
  CHECK(child.span_id != parsed->span_id);
  CHECK(TraceContext::parse(TraceContext::generate().traceparent()));
}

TEST_CASE("malformed traceparent is rejected") {
  CHECK_FALSE(TraceContext::parse(""));
  CHECK_FALSE(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  CHECK_FALSE(TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(TraceContext::parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST_CASE("TraceScope sets and restores the thread's trace") {
  CHECK(paypipe::core::current_trace().trace_id.empty());
  {
    TraceScope scope(TraceContext::generate());
    CHECK(paypipe::core::current_trace().trace_id.size() == 32);
  }
  CHECK(paypipe::core::current_trace().trace_id.empty());
}
