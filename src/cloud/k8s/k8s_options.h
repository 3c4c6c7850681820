// The [k8s] section (docs/cloud-providers.md): options of the k8s cloud provider, read once on the
// main thread by its factory; a plain value afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cloud/k8s/kubeconfig.h"
#include "cloud/k8s/pod_index.h"
#include "config/config.h"
#include "core/result.h"

namespace cstatsd::cloud::k8s {

using config::Duration;

inline constexpr const char* kDefaultAnnotationTagRegex =
    R"(^gostatsd\.atlassian\.com/(?P<tag>.*)$)";

struct K8sOptions {
  double kube_api_qps = 5;     // kube-api-qps: requests a second to the API server (> 0)
  double kube_api_burst = 10;  // kube-api-burst: requests allowed at once above that (> 0)
  // annotation-tag-regex: annotations whose key matches become tags ("" = none).
  std::string annotation_tag_regex = kDefaultAnnotationTagRegex;
  std::string label_tag_regex;     // label-tag-regex: labels whose key matches ("" = none)
  std::string kubeconfig_path;     // kubeconfig-path: "" = the in-cluster service account
  std::string kubeconfig_context;  // kubeconfig-context: "" = the file's current-context
  // node-name (GSD_K8S_NODE_NAME): this node; required when watch_cluster is false.
  std::string node_name;
  Duration resync_period = std::chrono::minutes(5);  // resync-period: full re-list (0 = never)
  std::string user_agent;                            // user-agent: default "cstatsd/<version>"
  bool watch_cluster = true;  // watch-cluster: every pod; false = the pods of node_name only
  // max-watch-event-size: the longest line (one event) of a watch stream, in bytes; a longer
  // one drops the watch (reconnect with backoff), so a broken server cannot fill the memory.
  int64_t max_watch_event_size = int64_t{16} << 20;
  // cgroup-path: the node's cgroup v2 tree, read to resolve a DogStatsD `c:in-<inode>` field
  // (docs/cloud-providers.md#origin-detection); "" (the default) = not read, not resolved.
  std::string cgroup_path;

  // Not config keys (tests shorten them).
  Duration min_backoff = std::chrono::seconds(1);   // first wait after a failed request
  Duration max_backoff = std::chrono::seconds(30);  // longest wait between failed requests
  Duration publish_interval = std::chrono::milliseconds(100);  // coalesces bursts of events
  Duration list_timeout = std::chrono::seconds(60);            // one page of a list
  Duration max_watch = std::chrono::minutes(10);               // a watch's timeoutSeconds, at most
  int page_size = 500;                                         // a list's limit
  std::string service_account_dir = std::string(kServiceAccountDir);

  friend bool operator==(const K8sOptions&, const K8sOptions&) = default;
};

// Reads [k8s] from the config (file and GSD_K8S_* environment), with every problem named
// "k8s.<key>: ..." in one error. Unknown keys go to `warnings` if given.
Result<K8sOptions> ReadK8sOptions(const config::Config& config,
                                  std::vector<std::string>* warnings = nullptr);

// The tag rules of the options (the regexes were checked by ReadK8sOptions).
Result<TagRules> MakeTagRules(const K8sOptions& options);

// The connection the options describe: the kubeconfig, or in-cluster from `env`. Errors name
// k8s.kubeconfig-path or k8s.kubeconfig-context.
Result<Connection> ResolveConnection(const K8sOptions& options, const config::Environment& env);

}  // namespace cstatsd::cloud::k8s
