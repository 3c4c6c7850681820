// BackendRunner: gives one Backend its own thread and a bounded queue
// (docs/compatibility.md#decision-5). The flusher enqueues each FlushSnapshot and never waits; when
// the queue is full the oldest pending flush is dropped and counted (backend.dropped). Events have
// their own bound (max-concurrent-events), and so have service checks. Enqueue* are called by the
// flusher and the event dispatcher; the thread is created here because server/ is where threads are
// made.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "backends/backend.h"
#include "snapshot/flush_snapshot.h"
#include "stats/rate_limiter.h"

namespace cstatsd::server {

class BackendRunner {
 public:
  BackendRunner(std::unique_ptr<backends::Backend> backend, size_t queue_size,
                size_t event_queue_size);
  ~BackendRunner();

  void Start();
  void EnqueueMetrics(snapshot::SnapshotPtr snapshot);
  void EnqueueEvent(std::shared_ptr<const Event> event);
  // A service check: queued with the events (same bound) when the backend carries them
  // (Backend::CarriesServiceChecks), else counted as dropped at once and logged, rate-limited.
  void EnqueueServiceCheck(std::shared_ptr<const ServiceCheck> check);

  // Delivers what is queued within `timeout`, then stops the thread. What is not delivered by
  // then is counted as dropped (an HTTP backend's requests still in flight or waiting to retry
  // are abandoned and counted). Returns false only when the thread could not be joined (still
  // inside a send 2 s after that): it was detached and the runner must then never be destroyed.
  bool Stop(std::chrono::milliseconds timeout);

  // Ends the backend's waits between reconnection attempts (Backend::Interrupt); the server
  // calls it for every runner before stopping them one by one. Stop() calls it too.
  void Interrupt() { backend_->Interrupt(); }

  backends::Backend& backend() { return *backend_; }
  // The flush time (FlushSnapshot::flush_time_ns) of the last flush SendMetrics delivered, for
  // the state file (docs/state-file.md#undelivered-interval); INT64_MIN before any. Any thread.
  int64_t last_sent_flush_ns() const { return last_sent_flush_ns_.load(std::memory_order_acquire); }

 private:
  void Loop();

  std::unique_ptr<backends::Backend> backend_;
  const size_t queue_size_;
  const size_t event_queue_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<snapshot::SnapshotPtr> metrics_;
  std::deque<std::shared_ptr<const Event>> events_;
  std::deque<std::shared_ptr<const ServiceCheck>> checks_;  // bound: event_queue_size_ too
  bool stopping_ = false;
  bool busy_ = false;
  std::atomic<int64_t> last_sent_flush_ns_{INT64_MIN};
  std::thread thread_;
  std::thread io_thread_;              // runs the backend's HTTP client loop, if it has one
  stats::RateLimiter drop_log_{6, 1};  // at most ~6 drop messages a minute (guarded by mu_)
  stats::RateLimiter send_log_{6, 1};  // failed sends, likewise (the backend's thread only)
};

}  // namespace cstatsd::server
