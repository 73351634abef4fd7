#include "http/stream_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "core/json.hpp"
#include "core/metrics.hpp"

namespace paypipe::http {

namespace {

struct StreamMetrics {
  prometheus::Gauge& open;
  prometheus::Family<prometheus::Counter>& cut;
  prometheus::Counter& refused;
  prometheus::Histogram& read_seconds;
  prometheus::Histogram& read_users;

  static StreamMetrics& get() {
    static StreamMetrics metrics{
        prometheus::BuildGauge()
            .Name("http_streams_open")
            .Help("Open live-update streams (SSE and WebSocket)")
            .Register(core::metrics::registry())
            .Add({}),
        prometheus::BuildCounter()
            .Name("http_streams_cut_total")
            .Help("Streams closed by the server, by reason (slow-consumer, unavailable)")
            .Register(core::metrics::registry()),
        prometheus::BuildCounter()
            .Name("http_streams_refused_total")
            .Help("Streams refused past the per-user or per-daemon cap (503)")
            .Register(core::metrics::registry())
            .Add({}),
        prometheus::BuildHistogram()
            .Name("http_streams_read_seconds")
            .Help("Time of one batched read of the signalled users' updates")
            .Register(core::metrics::registry())
            .Add({}, core::metrics::hop_buckets()),
        prometheus::BuildHistogram()
            .Name("http_streams_read_users")
            .Help("Users read by one batched read")
            .Register(core::metrics::registry())
            .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000})};
    return metrics;
  }
};

std::size_t cost(const StreamEvent& event) { return event.data.size() + event.type.size() + 32; }

}  // namespace

StreamConnection::StreamConnection(std::string user, std::int64_t last_id, std::size_t buffer_bytes)
    : user_(std::move(user)), buffer_limit_(buffer_bytes), last_id_(last_id) {}

std::vector<StreamEvent> StreamConnection::take() {
  std::vector<StreamEvent> out;
  bool wants_more = false;
  {
    std::lock_guard lock(mutex_);
    out.swap(queue_);
    bytes_ = 0;
    wants_more = waiting_for_room_ && !out.empty();
    waiting_for_room_ = false;
  }
  if (wants_more) {
    if (auto hub = hub_.lock()) hub->notify(user_);
  }
  return out;
}

void StreamConnection::set_waker(std::function<void()> waker) {
  std::lock_guard lock(mutex_);
  waker_ = std::move(waker);
}

bool StreamConnection::cut() const {
  std::lock_guard lock(mutex_);
  return !cut_reason_.empty();
}

std::string StreamConnection::cut_reason() const {
  std::lock_guard lock(mutex_);
  return cut_reason_;
}

std::int64_t StreamConnection::last_id() const {
  std::lock_guard lock(mutex_);
  return last_id_;
}

std::size_t StreamConnection::buffered_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

StreamConnection::Offer StreamConnection::offer(const StreamEvent& event, bool may_cut) {
  std::lock_guard lock(mutex_);
  if (!cut_reason_.empty()) return Offer::full;
  if (event.id <= last_id_) return Offer::queued;  // already delivered: replay and live overlap
  const auto size = cost(event);
  // One event always fits an empty buffer, however large.
  if (!queue_.empty() && bytes_ + size > buffer_limit_) {
    if (may_cut) {
      cut_reason_ = "slow-consumer";
      StreamMetrics::get().cut.Add({{"reason", cut_reason_}}).Increment();
    } else {
      waiting_for_room_ = true;
    }
    return Offer::full;
  }
  queue_.push_back(event);
  bytes_ += size;
  last_id_ = event.id;
  return Offer::queued;
}

void StreamConnection::close(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (!cut_reason_.empty()) return;
    cut_reason_ = std::move(reason);
    StreamMetrics::get().cut.Add({{"reason", cut_reason_}}).Increment();
  }
  wake();
}

void StreamConnection::wake() {
  std::function<void()> waker;
  {
    std::lock_guard lock(mutex_);
    waker = waker_;
  }
  if (waker) waker();
}

std::shared_ptr<StreamHub> StreamHub::create(StreamLimits limits, UpdateReader reader, Executor executor) {
  return std::shared_ptr<StreamHub>(new StreamHub(limits, std::move(reader), std::move(executor)));
}

StreamHub::StreamHub(StreamLimits limits, UpdateReader reader, Executor executor)
    : limits_(limits), reader_(std::move(reader)), executor_(std::move(executor)) {}

core::Result<std::shared_ptr<StreamConnection>> StreamHub::open(const std::string& user, std::int64_t last_id) {
  if (last_id < 0) {
    // "From now" is now: the user's latest id is read before the stream is answered, so
    // a change the client makes after seeing the stream open is on it.
    auto latest = reader_({UpdateRead{user, -1}}, 1);
    if (!latest) return latest.error();
    last_id = latest->empty() || latest->front().empty() ? 0 : latest->front().back().id;
  }
  auto connection = std::make_shared<StreamConnection>(user, last_id, limits_.buffer_bytes);
  connection->hub_ = weak_from_this();
  {
    std::lock_guard lock(mutex_);
    auto found = users_.find(user);
    const std::size_t mine = found == users_.end() ? 0 : found->second.connections.size();
    if (total_ >= limits_.max_connections || mine >= limits_.max_per_user) {
      StreamMetrics::get().refused.Increment();
      return core::make_error(core::ErrorCategory::unavailable, "too-many-streams",
                              total_ >= limits_.max_connections
                                  ? "this server holds as many live streams as it may; try another or later"
                                  : "this user has " + std::to_string(mine) + " live streams open already");
    }
    users_[user].connections.insert(connection);
    ++total_;
  }
  StreamMetrics::get().open.Increment();
  // Replays what was missed (and, from now, what committed since the read above).
  schedule(user);
  return connection;
}

void StreamConnection::release() {
  if (auto hub = hub_.lock()) hub->close(this);
}

void StreamConnection::delivered(std::vector<StreamEvent> events) {
  auto hub = hub_.lock();
  if (!hub || !hub->delivered_ || events.empty()) return;
  hub->executor_([hub, user = user_, events = std::move(events)] { hub->delivered_(user, events); });
}

void StreamHub::close(const StreamConnection* connection) {
  std::lock_guard lock(mutex_);
  auto found = users_.find(connection->user());
  if (found == users_.end()) return;
  auto& connections = found->second.connections;
  auto it = std::find_if(connections.begin(), connections.end(),
                         [connection](const auto& c) { return c.get() == connection; });
  if (it == connections.end()) return;
  connections.erase(it);
  --total_;
  StreamMetrics::get().open.Decrement();
  if (found->second.connections.empty() && !found->second.reading && !found->second.queued) users_.erase(found);
}

void StreamHub::notify(const std::string& user) {
  {
    std::lock_guard lock(mutex_);
    if (users_.find(user) == users_.end()) return;
  }
  schedule(user);
}

void StreamHub::notify(const std::string& user, std::int64_t latest_id) {
  {
    std::lock_guard lock(mutex_);
    auto found = users_.find(user);
    if (found == users_.end()) return;
    const bool behind = std::any_of(found->second.connections.begin(), found->second.connections.end(),
                                    [latest_id](const auto& c) { return c->last_id() < latest_id; });
    if (!behind) return;
  }
  schedule(user);
}

void StreamHub::notify_all() {
  std::vector<std::string> users;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [user, state] : users_) users.push_back(user);
  }
  for (const auto& user : users) schedule(user);
}

std::size_t StreamHub::connections() const {
  std::lock_guard lock(mutex_);
  return total_;
}

bool StreamHub::has_user(const std::string& user) const {
  std::lock_guard lock(mutex_);
  return users_.count(user) != 0;
}

void StreamHub::schedule(const std::string& user) {
  {
    std::lock_guard lock(mutex_);
    auto found = users_.find(user);
    if (found == users_.end()) return;
    auto& state = found->second;
    if (state.queued) return;  // the batch that takes it reads what is there by then
    if (state.reading) {
      state.again = true;  // the read in progress is followed by another
      return;
    }
    state.queued = true;
    pending_.push_back(user);
    if (draining_ >= limits_.concurrent_reads) return;  // a drain in progress takes it next
    ++draining_;
  }
  executor_([weak = weak_from_this()] {
    if (auto hub = weak.lock()) hub->drain();
  });
}

void StreamHub::drain() {
  struct Target {
    std::string user;
    std::vector<std::shared_ptr<StreamConnection>> connections;
  };
  for (;;) {
    std::vector<Target> batch;
    std::vector<UpdateRead> reads;
    {
      std::lock_guard lock(mutex_);
      while (!pending_.empty() && batch.size() < std::max<std::size_t>(limits_.batch_users, 1)) {
        std::string user = std::move(pending_.front());
        pending_.pop_front();
        auto found = users_.find(user);
        if (found == users_.end() || !found->second.queued) continue;  // gone, or queued again since
        auto& state = found->second;
        state.queued = false;
        Target target{std::move(user), {}};
        std::int64_t after = std::numeric_limits<std::int64_t>::max();
        for (const auto& c : state.connections) {
          std::lock_guard connection_lock(c->mutex_);
          // A connection waiting for its client to drain a backlog asks again when it has.
          if (c->cut_reason_.empty() && !c->waiting_for_room_) {
            target.connections.push_back(c);
            after = std::min(after, c->last_id_);
          }
        }
        if (target.connections.empty()) {
          if (state.connections.empty()) users_.erase(found);
          continue;
        }
        state.reading = true;
        state.again = false;
        reads.push_back(UpdateRead{target.user, after});
        batch.push_back(std::move(target));
      }
      if (batch.empty()) {
        --draining_;
        return;
      }
    }
    const auto started = std::chrono::steady_clock::now();
    auto rows = reader_(reads, limits_.page);
    StreamMetrics::get().read_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    StreamMetrics::get().read_users.Observe(static_cast<double>(reads.size()));
    if (rows.ok() && rows->size() != batch.size()) {
      rows = core::make_error(
          core::ErrorCategory::internal, "live-updates-read",
          "the read answered " + std::to_string(rows->size()) + " users of " + std::to_string(batch.size()));
    }
    std::vector<bool> more(batch.size(), false);
    if (!rows.ok()) {
      spdlog::warn("live updates for {} users could not be read ({}); closing their streams to resume", batch.size(),
                   rows.error().message);
      for (const auto& target : batch) {
        for (const auto& c : target.connections) c->close("unavailable");
      }
    } else {
      for (std::size_t i = 0; i < batch.size(); ++i) more[i] = deliver(batch[i].connections, (*rows)[i]);
    }
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto found = users_.find(batch[i].user);
      if (found == users_.end()) continue;
      auto& state = found->second;
      state.reading = false;
      if (more[i] || state.again) {
        state.again = false;
        state.queued = true;
        pending_.push_back(batch[i].user);
      } else if (state.connections.empty()) {
        users_.erase(found);
      }
    }
  }
}

bool StreamHub::deliver(const std::vector<std::shared_ptr<StreamConnection>>& targets,
                        const std::vector<StreamEvent>& rows) {
  const bool more = rows.size() >= limits_.page;
  for (const auto& c : targets) {
    bool queued_any = false;
    bool stopped = false;
    bool replaying = false;
    {
      std::lock_guard connection_lock(c->mutex_);
      replaying = c->replaying_;
    }
    for (const auto& row : rows) {
      if (c->offer(row, !replaying) == StreamConnection::Offer::full) {
        stopped = true;
        break;
      }
      queued_any = true;
    }
    if (!stopped && !more) {
      std::lock_guard connection_lock(c->mutex_);
      c->replaying_ = false;  // up to date: from now on a full buffer cuts
    }
    if (queued_any || c->cut()) c->wake();
  }
  return more;
}

std::optional<std::int64_t> StreamHub::parse_last_id(std::optional<std::string_view> text) {
  if (!text || text->empty()) return -1;
  std::int64_t value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value < 0) return std::nullopt;
  return value;
}

std::string sse_frame(const StreamEvent& event) {
  // data is one line of JSON (our writer never emits raw newlines), so one data: line.
  return "id: " + std::to_string(event.id) + "\nevent: " + event.type + "\ndata: " + event.data + "\n\n";
}

std::string websocket_frame(const StreamEvent& event) {
  core::json::Writer out;
  out.begin_object().field("id", event.id).field("type", event.type).raw_field("data", event.data).end_object();
  return out.take();
}

}  // namespace paypipe::http
