#pragma once
// UUIDs as lowercase canonical text ("8-4-4-4-12"), the form PostgreSQL's uuid type
// prints and CloudEvents ids carry.

#include <string>
#include <string_view>

namespace paypipe::core {

// A version 7 UUID: 48 bits of Unix milliseconds then random bits, so ids created
// together sort together and index inserts stay local. Thread-safe.
std::string new_uuid_v7();

// True if `text` is a canonical UUID (any version), case-insensitive.
bool is_uuid(std::string_view text);

}  // namespace paypipe::core
