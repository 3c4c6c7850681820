#include "server/backend_runner.h"

#include <spdlog/spdlog.h>

#include "transport/http_client.h"

namespace cstatsd::server {

using backends::BackendStats;

BackendRunner::BackendRunner(std::unique_ptr<backends::Backend> backend, size_t queue_size,
                             size_t event_queue_size)
    : backend_(std::move(backend)),
      queue_size_(queue_size == 0 ? 1 : queue_size),
      event_queue_size_(event_queue_size == 0 ? 1 : event_queue_size) {}

BackendRunner::~BackendRunner() {
  if (thread_.joinable()) Stop(std::chrono::milliseconds(0));
}

void BackendRunner::Start() {
  if (transport::HttpClient* c = backend_->http_client()) {
    io_thread_ = std::thread([c] { c->Run(); });
  }
  thread_ = std::thread([this] { Loop(); });
}

void BackendRunner::EnqueueMetrics(snapshot::SnapshotPtr snapshot) {
  auto& st = backend_->stats();
  {
    std::lock_guard lock(mu_);
    if (metrics_.size() >= queue_size_) {
      metrics_.pop_front();
      BackendStats::Add(st.dropped, 1);
      if (drop_log_.Allow()) {
        spdlog::error(
            "backend queue full, dropping the oldest pending flush backend={} queue_size={}",
            backend_->Name(), queue_size_);
      }
    }
    metrics_.push_back(std::move(snapshot));
  }
  cv_.notify_one();
}

void BackendRunner::EnqueueEvent(std::shared_ptr<const Event> event) {
  {
    std::lock_guard lock(mu_);
    if (events_.size() >= event_queue_size_) {
      BackendStats::Add(backend_->stats().events_dropped, 1);
      if (drop_log_.Allow()) {
        spdlog::error("backend event queue full, dropping event backend={} title=\"{}\"",
                      backend_->Name(), event->title);
      }
      return;
    }
    events_.push_back(std::move(event));
  }
  cv_.notify_one();
}

void BackendRunner::EnqueueServiceCheck(std::shared_ptr<const ServiceCheck> check) {
  {
    std::lock_guard lock(mu_);
    const bool carried = backend_->CarriesServiceChecks();
    if (!carried || checks_.size() >= event_queue_size_) {
      BackendStats::Add(backend_->stats().service_checks_dropped, 1);
      if (drop_log_.Allow()) {
        spdlog::error(
            "{}, dropping service check backend={} check=\"{}\"",
            carried ? "backend event queue full" : "backend does not carry service checks",
            backend_->Name(), check->name);
      }
      return;
    }
    checks_.push_back(std::move(check));
  }
  cv_.notify_one();
}

void BackendRunner::Loop() {
  auto& st = backend_->stats();
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      return stopping_ || !metrics_.empty() || !events_.empty() || !checks_.empty();
    });
    if (metrics_.empty() && events_.empty() && checks_.empty()) break;  // stopping and drained
    std::shared_ptr<const Event> event;
    std::shared_ptr<const ServiceCheck> check;
    snapshot::SnapshotPtr snapshot;
    if (!events_.empty()) {
      event = std::move(events_.front());
      events_.pop_front();
    } else if (!checks_.empty()) {
      check = std::move(checks_.front());
      checks_.pop_front();
    } else {
      snapshot = std::move(metrics_.front());
      metrics_.pop_front();
    }
    busy_ = true;
    lock.unlock();
    if (event) {
      Status s = backend_->SendEvent(*event);
      if (s.ok()) {
        BackendStats::Add(st.events_sent, 1);
      } else {
        BackendStats::Add(st.events_dropped, 1);
        if (send_log_.Allow()) {
          spdlog::warn("sending event failed backend={} error=\"{}\"", backend_->Name(),
                       s.message());
        }
      }
    } else if (check) {
      Status s = backend_->SendServiceCheck(*check);
      BackendStats::Add(s.ok() ? st.service_checks_sent : st.service_checks_dropped, 1);
      if (!s.ok() && send_log_.Allow()) {
        spdlog::warn("sending service check failed backend={} check=\"{}\" error=\"{}\"",
                     backend_->Name(), check->name, s.message());
      }
    } else {
      const bool own = backend_->CountsOwnBatches();
      if (!own) BackendStats::Add(st.created, 1);
      Status s = backend_->SendMetrics(*snapshot);
      if (s.ok()) last_sent_flush_ns_.store(snapshot->flush_time_ns, std::memory_order_release);
      if (!own) {
        if (s.ok()) {
          BackendStats::Add(st.sent, 1);
          BackendStats::Add(st.series_sent, snapshot->series());
        } else {
          BackendStats::Add(st.dropped, 1);
        }
      }
      if (!s.ok() && send_log_.Allow()) {
        spdlog::error("sending metrics failed, flush dropped backend={} error=\"{}\"",
                      backend_->Name(), s.message());
      }
    }
    snapshot.reset();
    lock.lock();
    busy_ = false;
    idle_cv_.notify_all();
  }
}

bool BackendRunner::Stop(std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) return true;
  transport::HttpClient* http = backend_->http_client();
  backend_->Interrupt();
  std::unique_lock lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  const bool drained = idle_cv_.wait_for(lock, timeout, [&] {
    return !busy_ && metrics_.empty() && events_.empty() && checks_.empty();
  });
  if (!drained) {
    const size_t lost = metrics_.size();
    BackendStats::Add(backend_->stats().dropped, lost);
    BackendStats::Add(backend_->stats().service_checks_dropped, checks_.size());
    metrics_.clear();
    events_.clear();
    checks_.clear();
    spdlog::error("backend did not finish in time at shutdown backend={} dropped_flushes={}",
                  backend_->Name(), lost + (busy_ ? 1 : 0));
    if (busy_ && http != nullptr) {
      // Abandon the requests in flight or waiting to retry: they complete as aborted (counted
      // as dropped by the backend) and the send in progress returns.
      http->Shutdown();
      idle_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return !busy_; });
    }
    if (busy_) {
      // Still inside a send: leave the thread behind rather than hang the shutdown.
      lock.unlock();
      thread_.detach();
      if (io_thread_.joinable()) io_thread_.detach();
      return false;
    }
  }
  lock.unlock();
  cv_.notify_all();
  thread_.join();
  if (http != nullptr) {
    http->Shutdown();
    if (io_thread_.joinable()) io_thread_.join();
  }
  return true;  // joined, whether or not everything was delivered
}

}  // namespace cstatsd::server
