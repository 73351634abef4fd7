#pragma once
// Sends records and waits for all of their acknowledgements: what operators' bulk
// operations (replay of a group, retry of every waiting record) do per chunk before
// they mark what was acknowledged.

#include <chrono>
#include <optional>
#include <vector>

#include "events/producer.hpp"

namespace paypipe::dlq_retrier {

struct SentRecords {
  std::vector<std::size_t> acknowledged;  // indexes into the records sent, in no order
  std::optional<core::Error> failure;     // one of the failures, if any
};

// unavailable ("kafka-ack-timeout") if not every answer came within `timeout`: then
// nothing may be marked, some records may have been written.
core::Result<SentRecords> send_all(events::Producer& producer, std::vector<events::OutgoingRecord> records,
                                   std::chrono::milliseconds timeout);

}  // namespace paypipe::dlq_retrier
