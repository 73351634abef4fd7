#include "core/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace paypipe::core::metrics {

prometheus::Registry& registry() {
  static auto instance = std::make_shared<prometheus::Registry>();
  return *instance;
}

std::string serialize() {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry().Collect());
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  return buckets;
}

const prometheus::Histogram::BucketBoundaries& hop_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05,
      0.075,  0.1,     0.15,   0.2,   0.3,   0.5,   0.75,  1.0,    1.5,  2.5,   5.0,  10.0, 30.0, 60.0};
  return buckets;
}

}  // namespace paypipe::core::metrics
