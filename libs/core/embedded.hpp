#pragma once
// Files compiled into a binary by cmake/embed.cmake (event schemas, SQL migrations).

#include <span>
#include <string_view>

namespace paypipe::core {

struct EmbeddedFile {
  std::string_view name;     // file name without directories, e.g. "001_init.sql"
  std::string_view content;  // the file's bytes, static storage
};

}  // namespace paypipe::core
