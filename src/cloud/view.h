// View: what the workers read of the cloud cache — an immutable map source → entry that the
// cloud handler publishes whole after every change (shared_ptr<const View>). A worker holds one
// for a batch, so a lookup is a hash probe with no lock. The only thing a worker writes is an
// entry's last-use time (relaxed, at most once a second per entry), read for idle eviction.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cloud/provider.h"

namespace cstatsd::cloud {

struct Entry {
  explicit Entry(std::shared_ptr<const Instance> i, int64_t now_ns)
      : instance(std::move(i)), last_used_ns(now_ns) {}
  std::shared_ptr<const Instance> instance;  // null: looked up, nothing known (negative)
  std::atomic<int64_t> last_used_ns;
};

struct View {
  // The entries by source. Missing: not looked up yet (lookup providers), or nothing known
  // (index providers, for which every source is "looked up").
  std::unordered_map<std::string, std::shared_ptr<Entry>, StringHash, std::equal_to<>> entries;
  bool complete = false;  // an index provider's view: a missing source has no instance
  // An index provider's containers (null: none), for the DogStatsD `|c:` field.
  std::shared_ptr<const ContainerIndex> containers;

  Entry* Find(std::string_view source) const {
    auto it = entries.find(source);
    return it == entries.end() ? nullptr : it->second.get();
  }
  const Instance* FindContainer(std::string_view id) const {
    if (containers == nullptr) return nullptr;
    auto it = containers->find(id);
    return it == containers->end() ? nullptr : it->second.get();
  }
};

}  // namespace cstatsd::cloud
