#include "forward/endpoint_router.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace cstatsd::forward {

EndpointRouter::EndpointRouter(std::shared_ptr<EndpointSet> set, HealthOptions options)
    : set_(std::move(set)), options_(options) {}

EndpointRouter::Endpoint& EndpointRouter::Get(const std::string& url) {
  auto it = endpoints_.find(url);
  if (it == endpoints_.end()) it = endpoints_.emplace(url, Endpoint(options_)).first;
  return it->second;
}

void EndpointRouter::RebuildLocked() {
  auto [list, version] = set_->Current();
  if (version == set_version_ && !dirty_ && route_) return;
  if (version != set_version_) {
    for (auto& [url, e] : endpoints_) e.in_set = false;
    for (const std::string& url : *list) Get(url).in_set = true;
    set_version_ = version;
    set_list_ = list;
  }
  auto route = std::make_shared<Route>();
  route->urls = *set_list_;
  std::vector<bool> take(route->urls.size());
  for (size_t i = 0; i < route->urls.size(); ++i) {
    take[i] = Get(route->urls[i]).health.up();
    if (take[i]) ++route->healthy;
  }
  route->ring = route->healthy > 0 ? ShardRing(route->urls, take) : ShardRing(route->urls);
  route_ = std::move(route);
  dirty_ = false;
}

std::shared_ptr<const Route> EndpointRouter::Current() {
  std::lock_guard lock(mu_);
  RebuildLocked();
  return route_;
}

bool EndpointRouter::Attempt(const std::string& url, bool ok, TimePoint now) {
  std::lock_guard lock(mu_);
  Endpoint& e = Get(url);
  ++e.counts.posts;
  if (ok) {
    if (e.health.Success()) {
      dirty_ = true;
      spdlog::info("forwarder: aggregator rejoined the ring url={}", url);
    }
    return false;
  }
  ++e.counts.failures;
  if (e.health.Failure(now)) {
    dirty_ = true;
    spdlog::warn("forwarder: aggregator left the ring after {} failed posts in a row url={}",
                 e.health.consecutive_failures(), url);
  }
  if (e.health.up()) return false;
  RebuildLocked();
  return route_->healthy > 0;
}

std::vector<std::string> EndpointRouter::ProbesDue(TimePoint now) {
  std::lock_guard lock(mu_);
  std::vector<std::string> due;
  for (auto& [url, e] : endpoints_) {
    if (e.in_set && e.health.ProbeDue(now)) {
      e.health.ProbeStarted();
      due.push_back(url);
    }
  }
  return due;
}

void EndpointRouter::ProbeFinished(const std::string& url, bool ok, TimePoint now) {
  std::lock_guard lock(mu_);
  Endpoint& e = Get(url);
  ++e.counts.posts;
  if (!ok) ++e.counts.failures;
  if (e.health.ProbeFinished(ok, now)) {
    dirty_ = true;
    spdlog::info("forwarder: aggregator answered its probe and rejoined the ring url={}", url);
  }
}

std::string EndpointRouter::ChooseAny() {
  std::lock_guard lock(mu_);
  RebuildLocked();
  const Route& r = *route_;
  if (r.urls.empty()) return {};
  for (size_t i = 0; i < r.urls.size(); ++i) {
    const std::string& url = r.urls[next_any_++ % r.urls.size()];
    if (r.healthy == 0 || Get(url).health.up()) return url;
  }
  return r.urls[0];
}

void EndpointRouter::CountRerouted(const std::string& url, uint64_t series) {
  std::lock_guard lock(mu_);
  Get(url).counts.rerouted_series += series;
}

void EndpointRouter::CountDropped(const std::string& url, uint64_t series, uint64_t messages) {
  std::lock_guard lock(mu_);
  Endpoint& e = Get(url);
  e.counts.dropped_series += series;
  e.counts.dropped_messages += messages;
}

std::vector<EndpointStatus> EndpointRouter::Totals() const {
  std::lock_guard lock(mu_);
  std::vector<EndpointStatus> out;
  for (const auto& [url, e] : endpoints_) {
    out.push_back({url, e.in_set, e.health.up(), e.health.consecutive_failures(), e.counts});
  }
  return out;
}

std::vector<EndpointStatus> EndpointRouter::TakeDeltas() {
  std::lock_guard lock(mu_);
  RebuildLocked();  // the set's members are known before anything is forgotten
  std::vector<EndpointStatus> out;
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    Endpoint& e = it->second;
    EndpointCounts d;
    d.posts = e.counts.posts - e.taken.posts;
    d.failures = e.counts.failures - e.taken.failures;
    d.rerouted_series = e.counts.rerouted_series - e.taken.rerouted_series;
    d.dropped_series = e.counts.dropped_series - e.taken.dropped_series;
    d.dropped_messages = e.counts.dropped_messages - e.taken.dropped_messages;
    e.taken = e.counts;
    out.push_back({it->first, e.in_set, e.health.up(), e.health.consecutive_failures(), d});
    it = e.in_set ? std::next(it) : endpoints_.erase(it);
  }
  return out;
}

}  // namespace cstatsd::forward
