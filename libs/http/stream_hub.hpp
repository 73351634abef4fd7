#pragma once
// Live updates for the users connected to one daemon, over SSE or WebSocket (the server
// streams a StreamConnection; see Router::stream). Pure C++: no Beast, no sockets, so
// the policies are unit-tested by driving the hub directly (tests/stream_hub_test.cpp).
//
// What a user receives comes from the database, never from the signal itself: the
// owning daemon records every state change in an updates table with a per-user, gap-free
// id, in the transaction of the change (docs/architecture.md "Live updates"). A signal
// (a Kafka record naming the user, or a periodic tail of the table) only says "user U
// changed"; the hub then reads U's updates after the oldest id its connections hold and
// hands each connection those above its own last id. So a connection gets every update
// once, in id order, whether it arrived as replay (Last-Event-ID / resume token) or live,
// and a lost or duplicated signal costs a query, never an update.
//
// Per user, one read at a time (a signal during a read marks the user for another).
// Reads are batched: the users signalled since the last read are read together, one
// statement for up to StreamLimits::batch_users of them, at most
// StreamLimits::concurrent_reads such reads at once; so a burst of commits costs a few
// queries, not one per user.
// Each connection has a send buffer bound in bytes: a live connection whose client
// does not read is cut (slow-consumer), never slowing the rest; a connection still
// replaying a backlog is fed a page at a time as its client drains it. Caps on
// connections per user and per daemon refuse the next one (503 problem+json).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace paypipe::http {

struct StreamEvent {
  std::int64_t id = 0;  // the user's update id: the SSE id and the WebSocket resume token
  std::string type;     // e.g. "order.status"
  std::string data;     // a JSON object
};

struct StreamLimits {
  std::size_t max_per_user = 8;
  std::size_t max_connections = 10000;
  std::size_t buffer_bytes = 256 * 1024;  // queued and not yet written, per connection
  std::size_t page = 200;                 // updates read per user and query
  std::size_t batch_users = 500;          // users read in one query
  std::size_t concurrent_reads = 2;       // batched reads in progress at once (the executor's threads)
  std::chrono::milliseconds heartbeat{15000};
};

// One user's part of a read: their updates with id > after; with after < 0, their
// latest update alone (or none).
struct UpdateRead {
  std::string user;
  std::int64_t after = 0;
};
// Every read's updates, in one statement: one list per read, in the reads' order, each
// in id order and at most `limit` long.
using UpdateReader = std::function<core::Result<std::vector<std::vector<StreamEvent>>>(
    const std::vector<UpdateRead>& reads, std::size_t limit)>;
// Runs a read off the caller's thread (a pool's post); tests run it inline.
using Executor = std::function<void(std::function<void()>)>;

class StreamHub;

// One open stream. The server's writer takes() what is queued whenever woken, and
// closes when cut(). Thread-safe.
class StreamConnection {
 public:
  StreamConnection(std::string user, std::int64_t last_id, std::size_t buffer_bytes);

  const std::string& user() const { return user_; }
  // Everything queued, in order; empties the buffer (and asks the hub for the next page
  // when this connection was waiting for room).
  std::vector<StreamEvent> take();
  // Called (from any thread) when something was queued or the connection was cut.
  void set_waker(std::function<void()> waker);
  bool cut() const;
  std::string cut_reason() const;
  std::int64_t last_id() const;
  std::size_t buffered_bytes() const;
  // The stream ended: leaves its hub (the server calls this once, at the end).
  void release();
  // The server wrote these to the client's socket (the hub's on_delivered hook).
  void delivered(std::vector<StreamEvent> events);

 private:
  friend class StreamHub;
  enum class Offer { queued, full };
  Offer offer(const StreamEvent& event, bool may_cut);
  void close(std::string reason);
  void wake();

  const std::string user_;
  const std::size_t buffer_limit_;
  mutable std::mutex mutex_;
  std::vector<StreamEvent> queue_;  // not a deque: an empty deque allocates, an idle stream should not
  std::size_t bytes_ = 0;
  std::int64_t last_id_ = 0;  // the last id queued (or resumed from)
  bool replaying_ = true;     // until a read finds it up to date
  bool waiting_for_room_ = false;
  std::string cut_reason_;    // non-empty once cut
  std::function<void()> waker_;
  std::weak_ptr<StreamHub> hub_;
};

class StreamHub : public std::enable_shared_from_this<StreamHub> {
 public:
  static std::shared_ptr<StreamHub> create(StreamLimits limits, UpdateReader reader, Executor executor);

  // A new stream for `user` resuming after `last_id`: 0 replays every update still kept,
  // -1 starts from now (the user's latest id, read here: call it off the I/O thread).
  // unavailable ("too-many-streams") past a cap. The replay starts at once.
  core::Result<std::shared_ptr<StreamConnection>> open(const std::string& user, std::int64_t last_id);
  // The stream ended (client gone, cut, shutdown): StreamConnection::release().
  void close(const StreamConnection* connection);
  // "This user's updates changed": read and deliver. Users without a stream here are
  // ignored. Any thread.
  void notify(const std::string& user);
  // The same, knowing the user's updates reach `latest_id`: no read when every stream
  // of theirs has it already (the table's periodic tail).
  void notify(const std::string& user, std::int64_t latest_id);
  // Every user with a stream here (after the feed lost records, e.g. a reconnect).
  void notify_all();

  // Told (on the executor) what was written to a user's socket: coupon-issuer marks a
  // decided request NOTIFIED. Set before the first stream opens.
  using DeliveredHook = std::function<void(const std::string& user, const std::vector<StreamEvent>& events)>;
  void on_delivered(DeliveredHook hook) { delivered_ = std::move(hook); }

  std::size_t connections() const;
  bool has_user(const std::string& user) const;
  const StreamLimits& limits() const { return limits_; }

  // The id a stream resumes after, from Last-Event-ID or the `lastEventId` query
  // parameter: -1 (from now) when absent, nullopt when malformed.
  static std::optional<std::int64_t> parse_last_id(std::optional<std::string_view> text);

 private:
  StreamHub(StreamLimits limits, UpdateReader reader, Executor executor);
  struct UserState {
    std::set<std::shared_ptr<StreamConnection>> connections;
    bool queued = false;   // in pending_, for the next batch
    bool reading = false;  // in a batch being read
    bool again = false;    // signalled while being read: queued again after it
  };
  friend class StreamConnection;
  void schedule(const std::string& user);
  // One batched read after another until no user is pending (runs on the executor).
  void drain();
  // Queues one user's rows on the connections read for; true when the user has more to read (a full page).
  bool deliver(const std::vector<std::shared_ptr<StreamConnection>>& targets, const std::vector<StreamEvent>& rows);

  const StreamLimits limits_;
  UpdateReader reader_;
  Executor executor_;
  DeliveredHook delivered_;
  mutable std::mutex mutex_;
  std::map<std::string, UserState> users_;
  std::deque<std::string> pending_;   // users signalled and not yet in a batch, oldest first
  std::size_t draining_ = 0;          // drain() tasks posted or running
  std::size_t total_ = 0;
};

// A formatted frame, for the server and for tests: SSE "id: 7\nevent: order.status\n
// data: {...}\n\n"; WebSocket {"id":7,"type":"order.status","data":{...}}.
std::string sse_frame(const StreamEvent& event);
std::string websocket_frame(const StreamEvent& event);

}  // namespace paypipe::http
