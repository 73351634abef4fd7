#include "runtime/live_updates.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "core/json.hpp"
#include "core/thread_pool.hpp"
#include "events/committed.hpp"
#include "events/envelope.hpp"
#include "events/tail_reader.hpp"
#include "pg/array.hpp"

namespace paypipe::runtime {

LiveUpdateSettings LiveUpdateSettings::read(core::Env& env) {
  using std::chrono::milliseconds;
  LiveUpdateSettings s;
  s.limits.max_per_user = static_cast<std::size_t>(env.integer("PAYPIPE_STREAM_MAX_PER_USER", 8, 1, 1000));
  s.limits.max_connections = static_cast<std::size_t>(
      env.integer("PAYPIPE_STREAM_MAX_CONNECTIONS", 10000, 1, 1'000'000));
  s.limits.buffer_bytes = static_cast<std::size_t>(
      env.integer("PAYPIPE_STREAM_BUFFER_BYTES", 256 * 1024, 1024, 64 * 1024 * 1024));
  s.limits.heartbeat = env.millis("PAYPIPE_STREAM_HEARTBEAT_MS", s.limits.heartbeat, milliseconds(100),
                                  milliseconds(300000));
  s.poll = env.millis("PAYPIPE_STREAM_POLL_MS", s.poll, milliseconds(50), milliseconds(60000));
  s.retention = std::chrono::hours(env.integer("PAYPIPE_STREAM_RETENTION_HOURS", 24, 1, 24 * 90));
  return s;
}

namespace {

// The user an event is about: its data's userId (every order.*, payment.*, coupon.*
// event carries one), if it decodes.
std::optional<std::string> user_in(const std::string& event_data) {
  auto data = core::json::parse(event_data);
  if (!data || !data->IsObject()) return std::nullopt;
  const auto& object = *data;  // const: FindMember and MemberEnd give one iterator type (clang's C++20)
  const auto member = object.FindMember("userId");
  if (member == object.MemberEnd() || !member->value.IsString()) return std::nullopt;
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

// Whether a resumed stream lost updates to pruning: its first update is not the next
// id. It gets a "reset" first (refetch the state).
void mark_pruned(std::vector<http::StreamEvent>& events, std::int64_t after) {
  if (after < 0 || events.empty() || events.front().id <= after + 1) return;
  events.insert(events.begin(), http::StreamEvent{events.front().id - 1, "reset",
                                                  R"({"reason":"older updates were pruned; read the state again"})"});
}

}  // namespace

core::Result<std::vector<std::vector<http::StreamEvent>>> read_updates(pg::Connection& connection,
                                                                       const std::string& table,
                                                                       const std::vector<http::UpdateRead>& reads,
                                                                       std::size_t limit) {
  // Each user's rows by the primary key (user_id, id), a page per user; `nth` says whose.
  const std::string after_sql =
      "SELECT r.nth, u.id, u.type, u.data::text FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY "
      "AS r(user_id, after_id, nth) CROSS JOIN LATERAL (SELECT id, type, data FROM " +
      table + " WHERE user_id = r.user_id AND id > r.after_id ORDER BY id LIMIT $3) u ORDER BY r.nth, u.id";
  const std::string latest_sql =
      "SELECT r.nth, u.id, u.type, u.data::text FROM unnest($1::text[]) WITH ORDINALITY AS r(user_id, nth) "
      "CROSS JOIN LATERAL (SELECT id, type, data FROM " +
      table + " WHERE user_id = r.user_id ORDER BY id DESC LIMIT 1) u ORDER BY r.nth";
  std::vector<std::vector<http::StreamEvent>> out(reads.size());
  // The reads after an id and the reads of the latest (a stream opening "from now"),
  // each kind in one statement; `index` maps a statement's nth back to its read.
  std::vector<std::size_t> after_index;
  std::vector<std::size_t> latest_index;
  pg::ArrayParam after_users;
  pg::ArrayParam after_ids;
  pg::ArrayParam latest_users;
  for (std::size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].after < 0) {
      latest_index.push_back(i);
      latest_users.add(reads[i].user);
    } else {
      after_index.push_back(i);
      after_users.add(reads[i].user);
      after_ids.add(reads[i].after);
    }
  }
  auto collect = [&out](const pg::Rows& rows, const std::vector<std::size_t>& index) {
    for (int i = 0; i < rows.size(); ++i) {
      auto& events = out[index.at(static_cast<std::size_t>(rows.integer(i, 0) - 1))];
      events.push_back(http::StreamEvent{rows.integer(i, 1), rows.str(i, 2), rows.str(i, 3)});
    }
  };
  if (!after_index.empty()) {
    auto rows = connection.exec(after_sql, after_users, after_ids, static_cast<std::int64_t>(limit));
    if (!rows) return rows.error();
    collect(*rows, after_index);
  }
  if (!latest_index.empty()) {
    auto rows = connection.exec(latest_sql, latest_users);
    if (!rows) return rows.error();
    collect(*rows, latest_index);
  }
  for (const auto i : after_index) mark_pruned(out[i], reads[i].after);
  return out;
}

namespace {

// The ids of events this replica committed and signalled at once (the committed hook):
// the feed brings each of them again a moment later, and reading the user once more
// would double the reads for nothing. Bounded; what falls out is only read twice.
class SignalledHere {
 public:
  void add(const std::string& id) {
    std::lock_guard lock(mutex_);
    if (!ids_.insert(id).second) return;
    order_.push_back(id);
    if (order_.size() > capacity) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
  }
  // True (once) when `id` was signalled here.
  bool take(const std::string& id) {
    std::lock_guard lock(mutex_);
    return ids_.erase(id) > 0;
  }

 private:
  static constexpr std::size_t capacity = 65536;
  std::mutex mutex_;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;
};

}  // namespace

struct LiveUpdates::Impl {
  pg::Pool& pool;
  std::string table;
  LiveUpdateSettings settings;
  core::ThreadPool readers{settings.limits.concurrent_reads, "live-read"};  // one thread per batched read at once
  std::unique_ptr<events::TailReader> feed;
  std::uint64_t committed_listener = 0;  // this replica's own commits (events/committed.hpp)
  std::shared_ptr<SignalledHere> signalled = std::make_shared<SignalledHere>();
  std::thread tail;
  std::mutex mutex;
  std::condition_variable wake;
  bool running = false;

  Impl(pg::Pool& p, std::string t, LiveUpdateSettings s) : pool(p), table(std::move(t)), settings(s) {}

  // Who changed since the last look (with a margin for changes that committed late),
  // and, once a minute, the updates past retention.
  void run_tail(const std::shared_ptr<http::StreamHub>& hub) {
    const std::string since_sql = "SELECT user_id, max(id) FROM " + table +
                                  " WHERE created_at > $1::timestamptz - interval '5 seconds' GROUP BY user_id";
    // Each user's latest row stays: it is what a stream "from now" starts after, and
    // what tells a client resuming across pruned ids that it missed some (a reset).
    const std::string prune_sql = "DELETE FROM " + table + " WHERE ctid IN (SELECT ctid FROM " + table +
                                  " o WHERE created_at < now() - make_interval(hours => $1::int) AND EXISTS "
                                  "(SELECT 1 FROM " +
                                  table +
                                  " n WHERE n.user_id = o.user_id AND n.id > o.id) "
                                  "LIMIT 10000)";
    std::optional<std::string> since;  // the database's clock at the last look
    auto next_prune = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex);
    while (running) {
      lock.unlock();
      // Without streams nothing is looked at: a stream's opening read covers what came before.
      if (hub->connections() == 0) since.reset();
      else if (auto lease = pool.acquire()) {
        auto now = (*lease)->exec("SELECT now()::text");
        if (now && since) {
          auto rows = (*lease)->exec(since_sql, *since);
          if (rows) {
            for (int i = 0; i < rows->size(); ++i) hub->notify(rows->str(i, 0), rows->integer(i, 1));
          } else {
            spdlog::warn("reading {}'s tail: {}", table, rows.error().message);
          }
        }
        if (now) since = now->str(0, 0);
      }
      if (std::chrono::steady_clock::now() >= next_prune) {
        next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(1);
        if (auto lease = pool.acquire()) {
          auto pruned = (*lease)->exec(prune_sql, static_cast<std::int64_t>(settings.retention.count()));
          if (!pruned) spdlog::warn("pruning {}: {}", table, pruned.error().message);
        }
      }
      lock.lock();
      wake.wait_for(lock, settings.poll, [this] { return !running; });
    }
  }
};

LiveUpdates::LiveUpdates(const events::KafkaOptions& kafka, pg::Pool& pool, std::string table,
                         std::vector<std::string> topics, LiveUpdateSettings settings)
    : impl_(std::make_unique<Impl>(pool, std::move(table), settings)) {
  auto* impl = impl_.get();
  hub_ = http::StreamHub::create(
      settings.limits,
      [impl](const std::vector<http::UpdateRead>& reads,
             std::size_t limit) -> core::Result<std::vector<std::vector<http::StreamEvent>>> {
        auto lease = impl->pool.acquire();
        if (!lease) return lease.error();
        return read_updates(**lease, impl->table, reads, limit);
      },
      [impl](std::function<void()> task) { impl->readers.post(std::move(task)); });
  std::weak_ptr<http::StreamHub> weak = hub_;
  auto feed = events::TailReader::create(
      kafka, events::TailSettings{std::move(topics)},
      [weak, signalled = impl_->signalled](const events::ConsumedRecord& record) {
        auto hub = weak.lock();
        if (!hub) return;
        auto event = events::from_record(record.key, record.value, record.headers);
        if (!event || signalled->take(event->id)) return;
        if (auto user = user_in(event->data)) hub->notify(*user);
      },
      [weak] {
        if (auto hub = weak.lock()) hub->notify_all();
      });
  if (!feed) {
    spdlog::warn("live-update feed unavailable ({}): updates arrive by the table's tail only", feed.error().message);
  } else {
    impl_->feed = std::move(feed).value();
  }
}

LiveUpdates::~LiveUpdates() { stop(); }

core::Status LiveUpdates::start() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->running) return {};
    impl_->running = true;
  }
  if (impl_->feed) impl_->feed->start();
  // Our own commits reach our streams at once (events/committed.hpp), without the
  // round trip through the broker; the feed brings the other replicas' (and ours again:
  // one more read, never a second delivery).
  impl_->committed_listener = events::add_committed_listener(
      [weak = std::weak_ptr<http::StreamHub>(hub_),
       signalled = impl_->signalled](const std::vector<events::Event>& committed) {
        auto hub = weak.lock();
        if (!hub || hub->connections() == 0) return;
        for (const auto& event : committed) {
          auto user = user_in(event.data);
          if (!user) continue;
          signalled->add(event.id);
          hub->notify(*user);
        }
      });
  impl_->tail = std::thread([impl = impl_.get(), hub = hub_] {
    pthread_setname_np(pthread_self(), "live-tail");
    impl->run_tail(hub);
  });
  return {};
}

void LiveUpdates::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->running) return;
    impl_->running = false;
  }
  events::remove_committed_listener(impl_->committed_listener);
  impl_->wake.notify_all();
  if (impl_->tail.joinable()) impl_->tail.join();
  if (impl_->feed) impl_->feed->stop();
  impl_->readers.stop();
}

std::optional<std::string> LiveUpdates::user_of(const events::ConsumedRecord& record) {
  auto event = events::from_record(record.key, record.value, record.headers);
  if (!event) return std::nullopt;
  return user_in(event->data);
}

}  // namespace paypipe::runtime
