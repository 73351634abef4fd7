// Fuzzes the consumer runtime's first steps on a Kafka record: CloudEvents decoding
// from headers, then schema validation of the data, then dead-letter header reading.
// Input framing: the first byte picks how many headers follow; each header and the
// value are split on 0xFF bytes. Anything may be malformed; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "events/dead_letter.hpp"
#include "events/envelope.hpp"
#include "events/schemas.hpp"

namespace {

std::vector<std::string> split(std::string_view bytes) {
  std::vector<std::string> parts;
  std::string current;
  for (const char c : bytes) {
    if (static_cast<unsigned char>(c) == 0xFF) {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  parts.push_back(current);
  return parts;
}

const char* const header_names[] = {"ce_id",
                                    "ce_type",
                                    "ce_source",
                                    "ce_time",
                                    "ce_specversion",
                                    "content-type",
                                    "ce_dataschema",
                                    "traceparent",
                                    "attempt",
                                    "failed-at",
                                    "kafka_dlt-original-topic",
                                    "kafka_dlt-original-partition",
                                    "kafka_dlt-original-offset",
                                    "kafka_dlt-original-consumer-group",
                                    "failure-kind"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = split(input);
  paypipe::events::KafkaHeaders headers;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    headers.push_back({header_names[i % std::size(header_names)], parts[i]});
  }
  const std::optional<std::string> key = parts.size() > 2 ? std::optional<std::string>(parts[1]) : std::nullopt;
  auto event = paypipe::events::from_record(key, parts.back(), headers);
  if (event) {
    const int version = paypipe::events::SchemaRegistry::version_of(event->dataschema);
    (void)paypipe::events::SchemaRegistry::builtin().validate(event->type, event->data, version);
  }
  (void)paypipe::events::read_dead_letter(headers);
  (void)paypipe::events::attempt_of(headers);
  return 0;
}
