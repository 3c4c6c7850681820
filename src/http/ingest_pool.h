// IngestPool: the bounded pool of an HTTP server's ingestion threads, which run ingestion
// (inflate, decode, ingest) off the event loop. Jobs are never refused: each is one suspended
// connection, so max-connections bounds the queue. Owned by the event loop; Submit from it,
// the jobs run on the pool's threads (created here on behalf of server/'s HTTP thread).
#pragma once

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace cstatsd::http {

class IngestPool {
 public:
  void Start(int threads) {
    for (int i = 0; i < threads; ++i) {
      try {
        threads_.emplace_back([this] { Work(); });
      } catch (const std::system_error& e) {
        spdlog::warn("http server cannot start an ingestion thread threads={} error={}",
                     threads_.size(), e.what());
        break;
      }
    }
  }
  // False if no thread runs (the caller then runs the job itself).
  bool Submit(std::function<void()> job) {
    if (threads_.empty()) return false;
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }
  // Runs what is queued, then joins.
  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  ~IngestPool() { Shutdown(); }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
      if (jobs_.empty()) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool shutdown_ = false;
};

}  // namespace cstatsd::http
