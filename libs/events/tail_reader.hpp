#pragma once
// Reads topics as a listener, not as a group member: every partition assigned directly,
// starting at the end, nothing committed. Each replica of a daemon runs its own, so
// every replica hears every record (live updates: any replica serves any user), and a
// replica that restarts listens from the new end: what it missed is in the database.
//
// The group.id it carries is never joined (no subscribe) and never committed to; it is
// unique per reader because librdkafka's consumer API wants one.
//
// `on_gap` is called when records may have been missed: at the start, when a
// partition's position was reset, and when the assignment is redone because topics or
// partitions appeared (checked every `refresh`). Other errors (a broker away, a missing
// ACL) are logged once a minute; the position survives them.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "events/kafka.hpp"

namespace paypipe::events {

struct TailSettings {
  std::vector<std::string> topics;  // logical names (the prefix is added)
  std::chrono::milliseconds refresh{30000};
};

class TailReader {
 public:
  using OnRecord = std::function<void(const ConsumedRecord&)>;
  static core::Result<std::unique_ptr<TailReader>> create(const KafkaOptions& options, TailSettings settings,
                                                          OnRecord on_record, std::function<void()> on_gap);
  ~TailReader();  // stop()
  TailReader(const TailReader&) = delete;
  TailReader& operator=(const TailReader&) = delete;

  void start();
  void stop();
  // Partitions assigned now (for tests and logs).
  std::size_t assigned() const;

 private:
  struct Impl;
  explicit TailReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace paypipe::events
