// The k8s provider's pure rules (docs/cloud-providers.md): a pod's JSON → the few fields it needs,
// which pods are indexed, the instance (id and tags) of a pod, and the index of pods by IP. Plain
// functions and value types; TagRules is immutable once built and may be shared between threads.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloud/provider.h"
#include "core/result.h"

namespace re2 {
class RE2;
}

namespace cstatsd::cloud::k8s {

// What the provider reads of a pod object (core/v1 Pod).
struct Pod {
  std::string name_space;  // metadata.namespace
  std::string name;        // metadata.name
  std::string resource_version;
  std::string creation_timestamp;  // RFC 3339, UTC ("2024-05-01T10:00:00Z"): sorts as text
  bool deleting = false;           // metadata.deletionTimestamp is set
  std::vector<std::pair<std::string, std::string>> labels;       // sorted by key
  std::vector<std::pair<std::string, std::string>> annotations;  // sorted by key
  bool host_network = false;                                     // spec.hostNetwork
  std::string phase;                                             // status.phase
  std::string pod_ip;                                            // status.podIP
  std::string host_ip;                                           // status.hostIP
  // status.{init,ephemeral,}containerStatuses[].containerID without the runtime's prefix
  // (`containerd://`, `docker://`, `cri-o://`): the ids a DogStatsD `|c:` field names.
  std::vector<std::string> container_ids;

  // "<namespace>/<name>": the instance id and the key of the pod set.
  std::string key() const { return name_space + "/" + name; }
};

// The member `key` of a JSON object (null if j is not an object or has none), and its text
// (empty unless it is a string): the API server's objects are read with these.
const nlohmann::json* Field(const nlohmann::json* j, const char* key);
std::string Text(const nlohmann::json* j, const char* key);

// Reads a pod object; an error if it is not an object with metadata.name. Fields of the wrong
// type are treated as absent. Never throws.
Result<Pod> ParsePod(const nlohmann::json& object);

// Why a pod is not in the index.
enum class Skip {
  kNone,         // indexed
  kNoIp,         // no status.podIP yet
  kFinished,     // phase Succeeded or Failed
  kDeleting,     // metadata.deletionTimestamp set
  kHostNetwork,  // spec.hostNetwork, or podIP == hostIP: the IP is the node's, not the pod's
};
Skip SkipReason(const Pod& pod);

// A tag regex as Go's regexp would read it (RE2 syntax; `(?<name>` is accepted as `(?P<name>`).
// Error: the regex does not compile (the message says why).
Result<std::shared_ptr<const re2::RE2>> CompileTagRegex(std::string_view text);

// Which labels and annotations become tags. A null regex turns that source off.
class TagRules {
 public:
  TagRules() = default;
  TagRules(std::shared_ptr<const re2::RE2> annotation_regex,
           std::shared_ptr<const re2::RE2> label_regex);

  // Labels first, then annotations, each in key order: for every key the regex finds a match in
  // (unanchored, as Go's MatchString), "<name>:<value>", where name is the text of the named
  // group `tag` if there is one and it matched non-empty text, else the whole key.
  std::vector<std::string> Tags(const Pod& pod) const;

 private:
  struct Rule {
    std::shared_ptr<const re2::RE2> re;
    int tag_group = -1;  // the index of the group named "tag", -1 if none
  };
  static std::optional<Rule> MakeRule(std::shared_ptr<const re2::RE2> re);
  static void Apply(const Rule& rule, const std::vector<std::pair<std::string, std::string>>& kv,
                    std::vector<std::string>& out);

  std::optional<Rule> annotations_;
  std::optional<Rule> labels_;
};

// An indexed pod: its IP (empty: not indexed by IP, see ToIndexed), its age, its instance and
// its containers.
struct IndexedPod {
  std::string ip;
  std::string creation_timestamp;
  std::shared_ptr<const Instance> instance;
  std::vector<std::string> container_ids;

  bool operator==(const IndexedPod& o) const;
};

// The pod's entry: with its IP when SkipReason(pod) is kNone; without (only its containers) for a
// pod that has container ids and is skipped for its IP alone (no IP yet, host network, deleting:
// a container id is never reused, an IP is). nullopt otherwise.
std::optional<IndexedPod> ToIndexed(const Pod& pod, const TagRules& rules);

// Every indexed pod by "<namespace>/<name>".
using PodSet = std::map<std::string, IndexedPod>;

// Pods that share an IP: the one chosen (the oldest; on a tie, the first by namespace/name) and
// the others.
struct IpConflict {
  std::string ip;
  std::string chosen;
  std::vector<std::string> others;
};

// IP → instance. `conflicts`, if given, receives every IP that several pods share.
Index BuildIndex(const PodSet& pods, std::vector<IpConflict>* conflicts = nullptr);

// Container id → instance of its pod (a container id is unique: on a repeat, the first pod by
// namespace/name).
ContainerIndex BuildContainerIndex(const PodSet& pods);

// A containerID as the kubelet reports it (`<runtime>://<id>`) without its prefix; a text without
// "://" as it is.
std::string_view StripRuntime(std::string_view container_id);

}  // namespace cstatsd::cloud::k8s
