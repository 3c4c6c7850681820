#include "cloud/handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cstatsd::cloud {
namespace {

int64_t SystemNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HandlerClock WithDefaults(HandlerClock c) {
  if (!c.wall_ns) c.wall_ns = SystemNanos;
  if (!c.steady) c.steady = [] { return std::chrono::steady_clock::now(); };
  return c;
}

}  // namespace

HandlerOptions HandlerOptions::From(const config::Options& o) {
  HandlerOptions h;
  h.cache_ttl = o.cloud_cache_ttl;
  h.cache_negative_ttl = o.cloud_cache_negative_ttl;
  h.refresh_period = o.cloud_cache_refresh_period;
  h.evict_after_idle = o.cloud_cache_evict_after_idle_period;
  h.max_requests = o.max_cloud_requests;
  h.burst_requests = o.burst_cloud_requests;
  return h;
}

CloudHandler::CloudHandler(std::unique_ptr<Provider> provider, HandlerOptions options,
                           HandlerClock clock)
    : provider_(std::move(provider)),
      options_(options),
      lookups_(provider_->answers_lookups()),
      clock_(WithDefaults(std::move(clock))),
      requests_(options.max_requests, options.burst_requests),
      view_(std::make_shared<const View>()) {}

CloudHandler::~CloudHandler() { Stop(); }

Status CloudHandler::Start() {
  if (!lookups_) {
    provider_->set_publish(
        [this](std::shared_ptr<const Index> index, std::shared_ptr<const ContainerIndex> c) {
          PublishIndex(std::move(index), std::move(c));
        });
    auto v = std::make_shared<View>();
    v->complete = true;
    std::lock_guard lock(view_mu_);
    view_ = std::move(v);
  }
  Status s = provider_->Start();
  if (!s.ok())
    return Status::Error("cloud-provider " + std::string(provider_->name()) + ": " + s.message());
  return {};
}

void CloudHandler::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  resolved_cv_.notify_all();
  provider_->Stop();
}

std::shared_ptr<const View> CloudHandler::view() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

void CloudHandler::SetEventSink(std::function<void(Event&&)> sink) {
  std::lock_guard lock(mu_);
  event_sink_ = std::move(sink);
}

void CloudHandler::SetReplayNotifier(std::function<void()> notify) {
  std::lock_guard lock(mu_);
  replay_notifier_ = std::move(notify);
}

void CloudHandler::EnrichEvent(Event& e, const Instance& instance) {
  e.source = instance.id;
  for (const std::string& t : instance.tags) {
    if (std::find(e.tags.begin(), e.tags.end(), t) == e.tags.end()) e.tags.push_back(t);
  }
}

void CloudHandler::WantLocked(const std::string& source, bool refresh) {
  if (!wanted_set_.insert(source).second) return;  // already queued or in flight
  wanted_.push_back(Wanted{source, refresh});
  cv_.notify_all();
}

void CloudHandler::Park(std::vector<ParkedLine>& lines) {
  bool ready = false;
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    for (ParkedLine& l : lines) {
      if (stop_ || cache_.find(l.source) != cache_.end()) {
        // Answered since the worker read its view (or shutting down): replay at once.
        replay_.push_back(std::move(l));
        ready = true;
        continue;
      }
      Parked& p = parked_[l.source];
      if (p.lines.size() >= options_.max_parked_per_source ||
          parked_lines_ >= options_.max_parked) {
        ++counters_.items_dropped_metrics;
        if (drop_log_.Allow()) {
          spdlog::warn(
              "cloud provider lookup queue full; metric dropped source={} queued_for_source={} "
              "queued={} (see cloudprovider.items_dropped)",
              l.source, p.lines.size(), parked_lines_);
        }
        if (p.lines.empty() && p.events.empty()) parked_.erase(l.source);
        continue;
      }
      const std::string source = l.source;
      p.lines.push_back(std::move(l));
      ++parked_lines_;
      WantLocked(source, false);
    }
    lines.clear();
    replay_size_.store(replay_.size(), std::memory_order_relaxed);
    if (ready) notify = replay_notifier_;
  }
  if (notify) notify();
}

void CloudHandler::ParkEvent(std::string source, Event&& event) {
  std::function<void(Event &&)> sink;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(source);
    if (stop_ || it != cache_.end()) {
      if (it != cache_.end() && it->second.entry->instance) {
        EnrichEvent(event, *it->second.entry->instance);
      }
      sink = event_sink_;
    } else {
      Parked& p = parked_[source];
      if (p.events.size() >= options_.max_parked_events_per_source) {
        ++counters_.items_dropped_events;
        if (drop_log_.Allow()) {
          spdlog::warn("cloud provider lookup queue full; event dropped source={} title=\"{}\"",
                       source, event.title);
        }
        return;
      }
      p.events.push_back(std::move(event));
      ++parked_events_;
      WantLocked(source, false);
      return;
    }
  }
  if (sink) sink(std::move(event));
}

void CloudHandler::TakeReplay(std::vector<ParkedLine>& out, size_t max) {
  std::lock_guard lock(mu_);
  while (!replay_.empty() && out.size() < max) {
    out.push_back(std::move(replay_.front()));
    replay_.pop_front();
  }
  replay_size_.store(replay_.size(), std::memory_order_relaxed);
}

void CloudHandler::Await(const std::vector<std::string>& sources,
                         std::chrono::milliseconds timeout) {
  if (!lookups_) return;
  std::unique_lock lock(mu_);
  bool missing = false;
  for (const std::string& s : sources) {
    if (s.empty() || cache_.find(s) != cache_.end()) continue;
    WantLocked(s, false);
    missing = true;
  }
  if (!missing) return;
  resolved_cv_.wait_for(lock, timeout, [&] {
    if (stop_) return true;
    for (const std::string& s : sources) {
      if (!s.empty() && cache_.find(s) == cache_.end()) return false;
    }
    return true;
  });
}

std::vector<ParkedLine> CloudHandler::ReleaseAll() {
  std::vector<ParkedLine> lines;
  std::vector<Event> events;
  std::function<void(Event &&)> sink;
  {
    std::lock_guard lock(mu_);
    for (ParkedLine& l : replay_) lines.push_back(std::move(l));
    replay_.clear();
    for (auto& [source, p] : parked_) {
      for (ParkedLine& l : p.lines) lines.push_back(std::move(l));
      for (Event& e : p.events) events.push_back(std::move(e));
    }
    parked_.clear();
    parked_lines_ = parked_events_ = 0;
    replay_size_.store(0, std::memory_order_relaxed);
    sink = event_sink_;
  }
  if (sink) {
    for (Event& e : events) sink(std::move(e));
  }
  return lines;
}

HandlerStats CloudHandler::stats() const {
  std::lock_guard lock(mu_);
  HandlerStats s = counters_;
  s.cache_positive = s.cache_negative = 0;
  for (const auto& [source, c] : cache_) {
    if (c.entry->instance) {
      ++s.cache_positive;
    } else {
      ++s.cache_negative;
    }
  }
  s.items_queued_metrics = parked_lines_;
  s.items_queued_events = parked_events_;
  s.hosts_queued_metrics = s.hosts_queued_events = 0;
  for (const auto& [source, p] : parked_) {
    if (!p.lines.empty()) ++s.hosts_queued_metrics;
    if (!p.events.empty()) ++s.hosts_queued_events;
  }
  return s;
}

void CloudHandler::PublishLocked() {
  auto v = std::make_shared<View>();
  v->entries.reserve(cache_.size());
  for (const auto& [source, c] : cache_) v->entries.emplace(source, c.entry);
  {
    std::lock_guard lock(view_mu_);
    view_ = std::move(v);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
}

void CloudHandler::PublishIndex(std::shared_ptr<const Index> index,
                                std::shared_ptr<const ContainerIndex> containers) {
  auto v = std::make_shared<View>();
  v->complete = true;
  v->containers = std::move(containers);
  const int64_t now = WallNanos();
  if (index) {
    v->entries.reserve(index->size());
    for (const auto& [source, instance] : *index) {
      v->entries.emplace(source, std::make_shared<Entry>(instance, now));
    }
  }
  {
    std::lock_guard lock(view_mu_);
    view_ = std::move(v);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
}

void CloudHandler::RefreshScanLocked(int64_t now_ns) {
  const int64_t idle = options_.evict_after_idle.count();
  bool changed = false;
  for (auto it = cache_.begin(); it != cache_.end();) {
    const int64_t last = it->second.entry->last_used_ns.load(std::memory_order_relaxed);
    if (now_ns - last > idle) {
      it = cache_.erase(it);
      changed = true;
      continue;
    }
    if (now_ns >= it->second.expires_ns) WantLocked(it->first, true);
    ++it;
  }
  if (changed) PublishLocked();
}

void CloudHandler::ResolveParkedLocked(const std::string& source, const Instance* instance,
                                       std::vector<Event>& events) {
  auto it = parked_.find(source);
  if (it == parked_.end()) return;
  for (ParkedLine& l : it->second.lines) replay_.push_back(std::move(l));
  parked_lines_ -= it->second.lines.size();
  for (Event& e : it->second.events) {
    if (instance != nullptr) EnrichEvent(e, *instance);
    events.push_back(std::move(e));
  }
  parked_events_ -= it->second.events.size();
  parked_.erase(it);
}

std::vector<Event> CloudHandler::ApplyLocked(const std::vector<Wanted>& batch,
                                             const std::vector<LookupAnswer>& answers,
                                             int64_t now_ns) {
  std::vector<Event> events;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Wanted& w = batch[i];
    wanted_set_.erase(w.source);
    const LookupAnswer a = i < answers.size() ? answers[i] : LookupAnswer{LookupStatus::kError, {}};
    auto it = cache_.find(w.source);
    const int64_t last_used = it != cache_.end()
                                  ? it->second.entry->last_used_ns.load(std::memory_order_relaxed)
                                  : now_ns;
    if (a.status == LookupStatus::kError && w.refresh && it != cache_.end()) {
      // A failed refresh keeps what was known; it is tried again a negative-ttl later.
      ++counters_.refresh_negative;
      it->second.expires_ns = now_ns + options_.cache_negative_ttl.count();
      continue;
    }
    if (w.refresh) ++counters_.refresh_positive;
    std::shared_ptr<const Instance> instance =
        a.status == LookupStatus::kFound ? a.instance : nullptr;
    CacheEntry c;
    c.entry = std::make_shared<Entry>(instance, last_used);
    c.expires_ns =
        now_ns + (instance ? options_.cache_ttl.count() : options_.cache_negative_ttl.count());
    cache_[w.source] = std::move(c);
    ResolveParkedLocked(w.source, instance.get(), events);
  }
  replay_size_.store(replay_.size(), std::memory_order_relaxed);
  return events;
}

void CloudHandler::RefreshScan(int64_t now_ns) {
  std::lock_guard lock(mu_);
  RefreshScanLocked(now_ns);
}

std::chrono::nanoseconds CloudHandler::LookupOnce(std::chrono::steady_clock::time_point now) {
  std::unique_lock lock(mu_);
  return LookupOnceLocked(lock, now);
}

std::chrono::nanoseconds CloudHandler::LookupOnceLocked(std::unique_lock<std::mutex>& lock,
                                                        std::chrono::steady_clock::time_point now) {
  if (!lookups_ || stop_ || wanted_.empty()) return std::chrono::nanoseconds::zero();
  // The rate limit: reserve a token, wait for it (the queue keeps growing meanwhile, bounded).
  if (!token_at_) token_at_ = now + requests_.Reserve(now);
  if (now < *token_at_) return *token_at_ - now;
  token_at_.reset();
  const size_t max_batch = std::max<size_t>(1, provider_->max_batch());
  std::vector<Wanted> batch;
  std::vector<std::string> sources;
  while (!wanted_.empty() && batch.size() < max_batch) {
    sources.push_back(wanted_.front().source);
    batch.push_back(std::move(wanted_.front()));
    wanted_.pop_front();
  }
  counters_.lookups += batch.size();
  lock.unlock();
  std::vector<LookupAnswer> answers = provider_->Lookup(sources);
  lock.lock();
  std::vector<Event> events = ApplyLocked(batch, answers, WallNanos());
  PublishLocked();
  auto sink = event_sink_;
  auto notify = replay_.empty() ? nullptr : replay_notifier_;
  lock.unlock();
  resolved_cv_.notify_all();
  if (sink) {
    for (Event& e : events) sink(std::move(e));
  }
  if (notify) notify();
  lock.lock();
  return std::chrono::nanoseconds::zero();
}

void CloudHandler::Run() {
  if (!lookups_) return;
  const size_t max_batch = std::max<size_t>(1, provider_->max_batch());
  auto next_scan = clock_.steady() + options_.refresh_period;
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (wanted_.empty()) {
      cv_.wait_until(lock, next_scan, [&] { return stop_ || !wanted_.empty(); });
    }
    if (stop_) break;
    if (!wanted_.empty() && wanted_.size() < max_batch) {
      // Gather a batch: more sources usually follow the first within a few milliseconds.
      cv_.wait_for(lock, options_.gather, [&] { return stop_ || wanted_.size() >= max_batch; });
      if (stop_) break;
    }
    if (clock_.steady() >= next_scan) {
      RefreshScanLocked(WallNanos());
      next_scan = clock_.steady() + options_.refresh_period;
    }
    // Until the token is there (zero: looked up, nothing wanted, or stopped).
    for (auto wait = LookupOnceLocked(lock, clock_.steady());
         wait > std::chrono::nanoseconds::zero(); wait = LookupOnceLocked(lock, clock_.steady())) {
      cv_.wait_for(lock, wait, [&] { return stop_; });
    }
  }
}

}  // namespace cstatsd::cloud
