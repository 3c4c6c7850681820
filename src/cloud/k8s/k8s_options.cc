#include "cloud/k8s/k8s_options.h"

#include <algorithm>
#include <iterator>

#include "config/section_reader.h"
#include "core/version.h"

namespace cstatsd::cloud::k8s {
namespace {

constexpr const char* kKnownKeys[] = {
    "kube-api-qps",    "kube-api-burst",       "annotation-tag-regex",
    "label-tag-regex", "kubeconfig-path",      "kubeconfig-context",
    "node-name",       "resync-period",        "user-agent",
    "watch-cluster",   "max-watch-event-size", "cgroup-path",
};

}  // namespace

Result<K8sOptions> ReadK8sOptions(const config::Config& config,
                                  std::vector<std::string>* warnings) {
  K8sOptions o;
  o.user_agent = "cstatsd/" + std::string(Version());
  config::SectionReader r(config.GetSection("k8s"));
  auto positive = [&](const char* key, double& field) {
    auto v = r.section().GetDouble(key, field);
    if (!v.ok()) {
      r.Problem(key, "expected a number");
    } else if (!(*v > 0)) {
      r.Problem(key, "must be positive");
    } else {
      field = *v;
    }
  };
  positive("kube-api-qps", o.kube_api_qps);
  positive("kube-api-burst", o.kube_api_burst);
  r.Str("annotation-tag-regex", o.annotation_tag_regex);
  r.Str("label-tag-regex", o.label_tag_regex);
  r.Str("kubeconfig-path", o.kubeconfig_path);
  r.Str("kubeconfig-context", o.kubeconfig_context);
  r.Str("node-name", o.node_name);
  r.Dur("resync-period", o.resync_period);
  r.Str("user-agent", o.user_agent);
  r.Bool("watch-cluster", o.watch_cluster);
  r.Integer("max-watch-event-size", o.max_watch_event_size);
  r.Str("cgroup-path", o.cgroup_path);

  for (const auto& [key, text] : {std::pair{"annotation-tag-regex", &o.annotation_tag_regex},
                                  std::pair{"label-tag-regex", &o.label_tag_regex}}) {
    if (text->empty()) continue;
    auto re = CompileTagRegex(*text);
    if (!re.ok()) r.Problem(key, re.error());
  }
  if (o.resync_period < Duration::zero()) r.Problem("resync-period", "must not be negative");
  if (!o.watch_cluster && o.node_name.empty()) {
    r.Problem("node-name",
              "required when watch-cluster is false (set it, or GSD_K8S_NODE_NAME, e.g. from the "
              "downward API's spec.nodeName)");
  }
  if (o.user_agent.empty()) r.Problem("user-agent", "must not be empty");
  if (o.max_watch_event_size <= 0) r.Problem("max-watch-event-size", "must be positive");
  if (warnings != nullptr) {
    for (const std::string& key : r.section().Keys()) {
      if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) == std::end(kKnownKeys)) {
        warnings->push_back("k8s." + key + ": unknown key; ignored");
      }
    }
  }
  if (Status s = r.Finish(); !s.ok()) return s;
  return o;
}

Result<TagRules> MakeTagRules(const K8sOptions& options) {
  std::shared_ptr<const re2::RE2> annotations;
  std::shared_ptr<const re2::RE2> labels;
  if (!options.annotation_tag_regex.empty()) {
    auto re = CompileTagRegex(options.annotation_tag_regex);
    if (!re.ok()) return Status::Error("k8s.annotation-tag-regex: " + re.error());
    annotations = *re;
  }
  if (!options.label_tag_regex.empty()) {
    auto re = CompileTagRegex(options.label_tag_regex);
    if (!re.ok()) return Status::Error("k8s.label-tag-regex: " + re.error());
    labels = *re;
  }
  return TagRules(std::move(annotations), std::move(labels));
}

Result<Connection> ResolveConnection(const K8sOptions& options, const config::Environment& env) {
  if (options.kubeconfig_path.empty()) {  // kubeconfig-context is meaningless then (ignored)
    auto c = InClusterConnection(env, options.service_account_dir);
    if (!c.ok()) return Status::Error("k8s.kubeconfig-path: " + c.error());
    return c;
  }
  auto c = LoadKubeconfig(options.kubeconfig_path, options.kubeconfig_context);
  if (!c.ok()) {
    const bool context_missing = !options.kubeconfig_context.empty() &&
                                 c.error().find("contexts has no entry") != std::string::npos;
    return Status::Error(
        std::string(context_missing ? "k8s.kubeconfig-context: " : "k8s.kubeconfig-path: ") +
        c.error());
  }
  return c;
}

}  // namespace cstatsd::cloud::k8s
