#pragma once
// Events this process committed to its outbox, told in-process at COMMIT: live updates
// (runtime::LiveUpdates) hear their own replica's changes here at once, instead of
// after the round trip producer -> broker -> their own feed (tens to hundreds of
// milliseconds on a loaded host); other replicas still hear them through the broker.
// A listener runs on the committing thread after COMMIT returned: it must be cheap and
// must not block (LiveUpdates only posts a read).

#include <cstdint>
#include <functional>
#include <vector>

#include "events/envelope.hpp"

namespace paypipe::events {

using CommittedListener = std::function<void(const std::vector<Event>&)>;

// Registers a listener; the id removes it. Thread-safe.
std::uint64_t add_committed_listener(CommittedListener listener);
void remove_committed_listener(std::uint64_t id);
// Called by the outbox after a COMMIT (OutboxInsert's after-commit hook).
void tell_committed(const std::vector<Event>& events);

}  // namespace paypipe::events
