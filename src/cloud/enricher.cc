#include "cloud/enricher.h"

#include "stats/internal_metrics.h"

namespace cstatsd::cloud {
namespace {

// A worker refreshes an entry's last use at most this often (a store to a shared cache line).
constexpr int64_t kLastUsedGranularityNs = 1'000'000'000;

}  // namespace

Enricher::Enricher(CloudHandler* handler) : handler_(handler) { Refresh(); }

void Enricher::Refresh() {
  const uint64_t v = handler_->version();
  if (v == version_ && view_) return;
  view_ = handler_->view();
  version_ = v;
  memo_valid_ = false;
}

Enricher::Resolution Enricher::Resolve(std::string_view source, int64_t now_ns, bool may_park) {
  if (source.empty()) {  // nothing to look up: a hit without an instance (as gostatsd)
    stats::Bump(hits);
    return {};
  }
  if (memo_valid_ && source == memo_source_) {
    stats::Bump(memo_unknown_ ? misses : hits);
    if (memo_unknown_) return Resolution{may_park ? Action::kPark : Action::kPass, nullptr};
    return memo_;
  }
  Resolution r;
  bool unknown = false;
  if (Entry* e = view_->Find(source)) {
    stats::Bump(hits);
    if (now_ns - e->last_used_ns.load(std::memory_order_relaxed) > kLastUsedGranularityNs) {
      e->last_used_ns.store(now_ns, std::memory_order_relaxed);
    }
    if (e->instance) r = {Action::kEnrich, e->instance.get()};
  } else if (view_->complete) {
    stats::Bump(hits);  // an index provider: not in the index, nothing known
  } else {
    stats::Bump(misses);
    unknown = true;
  }
  memo_source_.assign(source);
  memo_ = r;
  memo_unknown_ = unknown;
  memo_valid_ = true;
  if (unknown && may_park) r.action = Action::kPark;
  return r;
}

const Instance* Enricher::ResolveContainer(std::string_view field) const {
  if (view_->containers == nullptr) return nullptr;  // no index provider: ignored
  // Container ids first, then cgroup inodes (looked up as "in-<inode>", known with [k8s]
  // cgroup-path), as the Datadog agent prefers the id.
  for (const bool inodes : {false, true}) {
    for (std::string_view rest = field; !rest.empty();) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.starts_with("in-") != inodes) continue;
      if (item.starts_with("ci-")) item.remove_prefix(3);
      if (item.empty()) continue;
      if (const Instance* instance = view_->FindContainer(item)) return instance;
    }
  }
  return nullptr;
}

Enricher::Action Enricher::ApplyToEvent(Event& e, int64_t now_ns, bool may_park) {
  const Resolution r = Resolve(e.source, now_ns, may_park);
  if (r.action == Action::kEnrich) CloudHandler::EnrichEvent(e, *r.instance);
  return r.action;
}

void Enricher::Park(std::string_view source, std::string_view sender, std::string_view line) {
  parked_.push_back(ParkedLine{std::string(source), std::string(sender), std::string(line)});
}

void Enricher::Submit() {
  if (parked_.empty()) return;
  handler_->Park(parked_);
}

}  // namespace cstatsd::cloud
