#pragma once
// One Prometheus registry per process, as Prometheus client libraries do: components
// register their families on it and GET /metrics serialises it.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace paypipe::core::metrics {

prometheus::Registry& registry();

// Prometheus text exposition format 0.0.4 of everything registered.
std::string serialize();

// Latency buckets in seconds, 0.5 ms to 10 s.
const prometheus::Histogram::BucketBoundaries& latency_buckets();

// Buckets for the hops of an event's way (commit -> produce -> ack -> poll -> done ->
// commit), in seconds: 0.1 ms to 60 s, fine below 100 ms where the targets are, so a
// quantile read from the bucket bounds is close to the real one.
const prometheus::Histogram::BucketBoundaries& hop_buckets();

}  // namespace paypipe::core::metrics
