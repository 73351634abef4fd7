#pragma once
// JSON of parked records (the HTTP API and the CLI's --json print the same documents)
// and the list query read from HTTP query parameters or CLI flags.
//
// Keys, values and header values are bytes. JSON carries them twice where that helps
// an operator: as text when they are valid UTF-8 (null otherwise) and always as
// base64 (`valueBase64`, ...), which is exact. Spring's binary kafka_dlt-original-
// partition/-offset/-timestamp headers are shown as their decimal numbers.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "dlq_retrier/parked.hpp"

namespace paypipe::dlq_retrier {

struct ParkedQuery {
  std::optional<std::string> group;
  std::optional<std::string> topic;        // the original topic, with or without the topic prefix
  std::optional<std::string> error_class;
  std::optional<std::string> status = std::string(status::parked);  // nullopt: every status
  std::size_t limit = 50;
  std::int64_t after_id = 0;               // the cursor: rows with a larger id
};

inline constexpr std::size_t max_page_size = 500;

// From query parameters group, topic, errorClass, status (PARKED, REPLAYED, PURGED or
// ALL; default PARKED), limit (1..500, default 50) and cursor (from nextCursor).
// invalid_input naming every bad parameter.
core::Result<ParkedQuery> parse_parked_query(const std::map<std::string, std::string>& params);

// A parked id from a path or the command line: a positive integer.
core::Result<std::int64_t> parse_parked_id(std::string_view text);

struct ParkedPage {
  std::vector<ParkedRecord> items;
  std::optional<std::int64_t> next_after_id;  // set when more rows may follow
};

// {"items":[summary...],"nextCursor":"42"|null}; summaries leave out value and headers.
std::string page_json(const ParkedPage& page);
// Everything, value and headers included.
std::string detail_json(const ParkedRecord& record);
// {"group":..., "replayed": n}
std::string replay_group_json(const std::string& group, std::int64_t replayed);

// Bytes helpers, exposed for tests.
bool is_utf8(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// Invalid UTF-8 sequences and NUL become U+FFFD: for text columns and JSON strings
// that must hold what a foreign record's headers say.
std::string sanitize_utf8(std::string_view bytes);

}  // namespace paypipe::dlq_retrier
