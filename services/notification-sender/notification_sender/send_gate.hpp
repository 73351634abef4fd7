#pragma once
// One gate for every send to Telegram. When Telegram answers 429 with Retry-After, it
// asks the bot to stop sending for that long, not just to repeat that one message: the
// gate closes until then, and sends submitted meanwhile wait (in order) and start when
// it opens. While it is open a send starts at once on the caller's thread.
//
// Waiting costs no thread per send: one timer thread releases what waits. Tasks must
// not block (they start an async HTTP call).
//
// Thread-safe. stop() cancels what still waits (each task's `cancel` runs once), and so
// does a task's own `dropped` turning true while it waits.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace paypipe::notification_sender {

class SendGate {
 public:
  using Clock = std::chrono::steady_clock;
  struct Task {
    std::function<void()> run;
    std::function<void()> cancel;  // when the gate stops before it opens, or `dropped` says so
    // Polled while the task waits (a few times a second): true ends the wait at once
    // with `cancel` (the job's partition was revoked: it must not send).
    std::function<bool()> dropped = nullptr;
  };

  // `max_closure`: the longest any close_for() closes the gate (Retry-After's cap).
  explicit SendGate(std::chrono::milliseconds max_closure = std::chrono::milliseconds(300000));
  ~SendGate();  // stop()
  SendGate(const SendGate&) = delete;
  SendGate& operator=(const SendGate&) = delete;

  // Runs task.run now if the gate is open and nothing waits before it; else later.
  void submit(Task task);
  // No send starts before now + `wait` (clamped to [0, max_closure], so no value can
  // overflow the clock); extends the closure, never shortens it.
  void close_for(std::chrono::milliseconds wait);

  bool open() const;
  std::size_t waiting() const;
  void stop();

 private:
  void run();

  const std::chrono::milliseconds max_closure_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Clock::time_point closed_until_{};
  std::deque<Task> waiting_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace paypipe::notification_sender
