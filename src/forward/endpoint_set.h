// EndpointSet: the aggregators a forwarder shards its series over (docs/forwarder.md#sharding),
// as base URLs ("http://10.0.0.7:8080"). Created by server/ from [http-transport] api-endpoint(s);
// owned (shared) by the HttpForwarder, which reads it once per flush; replaced at run time by
// discovery (api-endpoints-dns) from its own thread, through HttpForwarder::endpoints() (a
// std::shared_ptr<EndpointSet>). Any thread may call every method.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cstatsd::forward {

class EndpointSet {
 public:
  using List = std::vector<std::string>;

  EndpointSet() : current_(std::make_shared<const List>()) {}
  explicit EndpointSet(List urls) : current_(std::make_shared<const List>(Normalise(urls))) {}

  // Replaces the set. The order and duplicates do not matter (the list is sorted and
  // de-duplicated); a URL that stays keeps its health in the forwarder, a new one starts healthy,
  // a removed one's series go to their next choice from the next flush on. Replacing with the same
  // set changes nothing (the version stays). An empty list is ignored (discovery that finds
  // nothing keeps the last known aggregators) and returns false. Any thread.
  bool Replace(List urls) {
    List next = Normalise(std::move(urls));
    if (next.empty()) return false;
    std::lock_guard lock(mu_);
    if (*current_ == next) return true;
    current_ = std::make_shared<const List>(std::move(next));
    ++version_;
    return true;
  }

  // The current set, sorted, and its version (bumped by every change). Any thread; the forwarder
  // calls it once per flush.
  std::pair<std::shared_ptr<const List>, uint64_t> Current() const {
    std::lock_guard lock(mu_);
    return {current_, version_};
  }

  uint64_t version() const {
    std::lock_guard lock(mu_);
    return version_;
  }

 private:
  static List Normalise(List urls) {
    for (std::string& u : urls) {
      while (!u.empty() && u.back() == '/') u.pop_back();  // "http://a/" and "http://a" are one
    }
    std::sort(urls.begin(), urls.end());
    urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
    urls.erase(std::remove(urls.begin(), urls.end(), std::string()), urls.end());
    return urls;
  }

  mutable std::mutex mu_;
  std::shared_ptr<const List> current_;  // guarded by mu_
  uint64_t version_ = 0;                 // guarded by mu_
};

}  // namespace cstatsd::forward
