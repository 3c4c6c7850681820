#include "cloud/k8s/k8s_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cloud/k8s/cgroup_inodes.h"
#include "core/log_escape.h"
#include "transport/url.h"

namespace cstatsd::cloud::k8s {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Snippet(std::string_view text) {
  return std::string(text.substr(0, 200)) + (text.size() > 200 ? "..." : "");
}

}  // namespace

K8sProvider::K8sProvider(K8sOptions options, Connection connection, TagRules rules)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      api_(std::move(connection), options_.user_agent, options_.kube_api_qps,
           options_.kube_api_burst, &stop_) {}

K8sProvider::~K8sProvider() = default;

std::string K8sProvider::PodsPath() const {
  std::string path = "/api/v1/pods?";
  if (!options_.watch_cluster) {
    path += "fieldSelector=" + transport::QueryEscape("spec.nodeName=" + options_.node_name) + "&";
  }
  return path;
}

Duration K8sProvider::Backoff() {
  backoff_ = backoff_ <= Duration::zero() ? options_.min_backoff
                                          : std::min(backoff_ * 2, options_.max_backoff);
  return backoff_;
}

Status K8sProvider::List(bool startup) {
  ++stat_lists_;
  if (!startup) ++stat_relists_;
  PodSet pods;
  std::string version;
  std::string cont;
  bool paged = options_.page_size > 0;
  while (true) {
    std::string path = PodsPath();  // no resourceVersion: the latest, from etcd
    if (paged) path += "limit=" + std::to_string(options_.page_size) + "&";
    if (!cont.empty()) path += "continue=" + transport::QueryEscape(cont) + "&";
    path.pop_back();  // the last '&' (or the '?')
    ApiResponse r = api_.Get(path, options_.list_timeout);
    if (r.stopped) return Status::Error("stopped");
    if (r.status == 410 && !cont.empty()) {
      // The continue token expired between pages: start over, in one page.
      pods.clear();
      cont.clear();
      paged = false;
      continue;
    }
    if (!r.ok()) {
      ++stat_errors_;
      return Status::Error("listing pods at " + api_.server() + " failed: " + r.Describe());
    }
    json doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    const json* items = Field(&doc, "items");
    if (doc.is_discarded() || !doc.is_object() ||
        (items != nullptr && !items->is_array() && !items->is_null())) {
      ++stat_errors_;
      return Status::Error("listing pods at " + api_.server() +
                           ": the response is not a pod list: " + Snippet(r.body));
    }
    if (items != nullptr && items->is_array()) {
      for (const json& item : *items) {
        auto pod = ParsePod(item);
        if (!pod.ok()) {
          ++stat_errors_;
          continue;
        }
        if (auto entry = ToIndexed(*pod, rules_))
          pods.insert_or_assign(pod->key(), std::move(*entry));
      }
    }
    const json* meta = Field(&doc, "metadata");
    version = Text(meta, "resourceVersion");
    cont = Text(meta, "continue");
    if (cont.empty()) break;
  }
  if (pods != pods_) dirty_ = true;
  pods_ = std::move(pods);
  resource_version_ = std::move(version);
  next_relist_ = Clock::now() + options_.resync_period;
  return {};
}

Status K8sProvider::Start() {
  Status s = List(/*startup=*/true);
  if (!s.ok()) return Status::Error("k8s: " + s.message());
  dirty_ = true;  // publish even an empty index: the handler then knows the provider is ready
  MaybePublish(/*force=*/true);
  spdlog::info(
      "k8s: listed the pods server={} via=\"{}\" scope=\"{}\" indexed_ips={} resource_version={}",
      api_.server(), api_.connection().origin,
      options_.watch_cluster ? "cluster" : "node " + options_.node_name, stat_pods_.load(),
      resource_version_);
  return {};
}

void K8sProvider::Run() {
  bool need_list = resource_version_.empty();
  while (!stop_.stopped()) {
    const bool resync_due =
        options_.resync_period > Duration::zero() && Clock::now() >= next_relist_;
    if (need_list || resync_due) {
      Status s = List(/*startup=*/false);
      if (!s.ok()) {
        if (stop_.stopped()) break;
        const Duration wait = Backoff();
        if (warn_limiter_.Allow()) {
          spdlog::warn("k8s: re-listing the pods failed; retrying error=\"{}\" retry_in_ms={}",
                       s.message(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
        }
        if (!stop_.WaitFor(wait)) break;
        need_list = true;
        continue;
      }
      need_list = false;
      backoff_ = Duration::zero();
      MaybePublish(/*force=*/true);
    }
    switch (Watch()) {
      case WatchEnd::kStopped:
        break;
      case WatchEnd::kGone:  // the resourceVersion is too old: re-list at once
        need_list = true;
        break;
      case WatchEnd::kError:
        stop_.WaitFor(Backoff());
        break;
      case WatchEnd::kEnded:
        backoff_ = Duration::zero();
        break;
    }
  }
  MaybePublish(/*force=*/true);
}

void K8sProvider::Stop() { stop_.Stop(); }

K8sProvider::WatchEnd K8sProvider::Watch() {
  ++stat_watches_;
  Duration length = options_.max_watch;
  if (options_.resync_period > Duration::zero()) {
    length = std::min(length, std::chrono::duration_cast<Duration>(next_relist_ - Clock::now()));
  }
  const auto seconds =
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(length).count());
  const std::string path = PodsPath() +
                           "watch=1&resourceVersion=" + transport::QueryEscape(resource_version_) +
                           "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(seconds);
  WatchEnd end = WatchEnd::kEnded;
  const std::function<bool(std::string_view)> on_line = [&](std::string_view line) {
    return OnEvent(line, end);
  };
  const std::function<void()> tick = [&] { MaybePublish(/*force=*/false); };
  ApiResponse r = api_.Stream(path, std::chrono::seconds(seconds) + std::chrono::seconds(30),
                              static_cast<size_t>(options_.max_watch_event_size), on_line, tick);
  MaybePublish(/*force=*/true);
  if (r.stopped) return WatchEnd::kStopped;
  if (r.status == 410) return WatchEnd::kGone;
  if (!r.ok()) {
    ++stat_errors_;
    if (warn_limiter_.Allow()) {
      spdlog::warn("k8s: watching the pods failed; reconnecting server={} error=\"{}\"",
                   api_.server(), r.Describe());
    }
    return WatchEnd::kError;
  }
  return end;
}

bool K8sProvider::OnEvent(std::string_view line, WatchEnd& end) {
  ++stat_watch_events_;
  const WatchEvent event = ApplyWatchEvent(line, rules_, pods_, resource_version_, dirty_);
  switch (event.kind) {
    case WatchEventKind::kApplied:
    case WatchEventKind::kBookmark:
      return true;
    case WatchEventKind::kBadPod:
      ++stat_errors_;
      return true;
    case WatchEventKind::kGone:
      end = WatchEnd::kGone;
      return false;
    case WatchEventKind::kNotAnEvent:
      ++stat_errors_;
      if (warn_limiter_.Allow()) {
        spdlog::warn("k8s: a watch event is not a JSON event object; reconnecting line=\"{}\"",
                     LogEscaped{Snippet(line)});
      }
      end = WatchEnd::kError;
      return false;
    case WatchEventKind::kError:
      ++stat_errors_;
      if (warn_limiter_.Allow()) {
        spdlog::warn("k8s: the watch of the pods returned an error; reconnecting error=\"{}\"",
                     Snippet(event.message));
      }
      end = WatchEnd::kError;
      return false;
  }
  return true;
}

void K8sProvider::MaybePublish(bool force) {
  if (!dirty_) return;
  const auto now = Clock::now();
  if (!force && now - last_publish_ < options_.publish_interval) return;
  std::vector<IpConflict> conflicts;
  auto index = std::make_shared<const Index>(BuildIndex(pods_, &conflicts));
  auto containers = std::make_shared<ContainerIndex>(BuildContainerIndex(pods_));
  const size_t container_ids = containers->size();
  // A file-system walk, on the provider's thread, only when the pods changed.
  stat_cgroup_inodes_ = AddCgroupInodes(options_.cgroup_path, *containers);
  stat_ip_conflicts_ = conflicts.size();
  if (!conflicts.empty() && conflict_limiter_.Allow()) {
    const IpConflict& c = conflicts.front();
    std::string others;
    for (const std::string& o : c.others) others += (others.empty() ? "" : ",") + o;
    spdlog::warn(
        "k8s: several pods have the same IP; using the oldest ip={} pod={} others={} "
        "conflicting_ips={}",
        c.ip, c.chosen, others, conflicts.size());
  }
  stat_pods_ = index->size();
  stat_containers_ = container_ids;
  dirty_ = false;
  last_publish_ = now;
  ++stat_publishes_;
  if (publish_) publish_(std::move(index), std::move(containers));
}

void K8sProvider::Stats(std::vector<ProviderStat>& out) const {
  out.push_back({"cloudprovider.k8s.pods", stat_pods_.load()});
  out.push_back({"cloudprovider.k8s.containers", stat_containers_.load()});
  out.push_back({"cloudprovider.k8s.cgroup_inodes", stat_cgroup_inodes_.load()});
  out.push_back({"cloudprovider.k8s.lists", stat_lists_.load()});
  out.push_back({"cloudprovider.k8s.relists", stat_relists_.load()});
  out.push_back({"cloudprovider.k8s.watches", stat_watches_.load()});
  out.push_back({"cloudprovider.k8s.watch_events", stat_watch_events_.load()});
  out.push_back({"cloudprovider.k8s.errors", stat_errors_.load()});
  out.push_back({"cloudprovider.k8s.publishes", stat_publishes_.load()});
  out.push_back({"cloudprovider.k8s.ip_conflicts", stat_ip_conflicts_.load()});
}

Result<std::unique_ptr<cloud::Provider>> CreateK8sProvider(const config::Config& config) {
  std::vector<std::string> warnings;
  auto options = ReadK8sOptions(config, &warnings);
  for (const std::string& w : warnings) spdlog::warn("{}", w);
  if (!options.ok()) return options.status();
  auto rules = MakeTagRules(*options);
  if (!rules.ok()) return rules.status();
  auto connection = ResolveConnection(*options, config.env);
  if (!connection.ok()) return connection.status();
  spdlog::info("k8s: API server server={} via=\"{}\"", connection->server, connection->origin);
  return std::unique_ptr<cloud::Provider>(std::make_unique<K8sProvider>(
      std::move(*options), std::move(*connection), std::move(*rules)));
}

}  // namespace cstatsd::cloud::k8s
