#pragma once
// Reading this process' metrics in tests: the value of one series of the registry that
// GET /metrics serialises.

#include <optional>
#include <string>

#include "core/metrics.hpp"

namespace paypipe::testing {

// The value of the series `name` whose labels include `labels` (a gauge's or counter's
// value, a histogram's sample count); nullopt when no such series is registered.
inline std::optional<double> metric_value(const std::string& name, const prometheus::Labels& labels = {}) {
  for (const auto& family : core::metrics::registry().Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool matches = true;
      for (const auto& [key, value] : labels) {
        bool found = false;
        for (const auto& pair : metric.label) found = found || (pair.name == key && pair.value == value);
        matches = matches && found;
      }
      if (!matches) continue;
      switch (family.type) {
        case prometheus::MetricType::Gauge: return metric.gauge.value;
        case prometheus::MetricType::Counter: return metric.counter.value;
        case prometheus::MetricType::Histogram: return static_cast<double>(metric.histogram.sample_count);
        default: return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace paypipe::testing
