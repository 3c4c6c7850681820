#include "cloud/k8s/pod_index.h"

#include <re2/re2.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace cstatsd::cloud::k8s {

using json = nlohmann::json;

const json* Field(const json* j, const char* key) {
  if (j == nullptr || !j->is_object()) return nullptr;
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

std::string Text(const json* j, const char* key) {
  const json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

namespace {

std::vector<std::pair<std::string, std::string>> StringMap(const json* j) {
  std::vector<std::pair<std::string, std::string>> out;
  if (j == nullptr || !j->is_object()) return out;
  for (auto it = j->begin(); it != j->end(); ++it) {  // nlohmann's object is sorted by key
    if (it->is_string()) out.emplace_back(it.key(), it->get<std::string>());
  }
  return out;
}

// Go accepts `(?<name>` (since 1.22) as well as `(?P<name>`; this RE2 only the latter.
std::string GoSyntax(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 4);
  bool escaped = false;
  bool in_class = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    out += c;
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c == '\\') {
      escaped = true;
    } else if (c == '[') {
      in_class = true;
    } else if (c == ']') {
      in_class = false;
    } else if (c == '(' && !in_class && text.substr(i + 1, 2) == "?<" && i + 3 < text.size() &&
               text[i + 3] != '=' && text[i + 3] != '!') {
      out += "?P<";
      i += 2;
    }
  }
  return out;
}

}  // namespace

Result<Pod> ParsePod(const json& object) {
  if (!object.is_object()) return Status::Error("the pod is not a JSON object");
  const json* meta = Field(&object, "metadata");
  Pod pod;
  pod.name = Text(meta, "name");
  if (pod.name.empty()) return Status::Error("the pod has no metadata.name");
  pod.name_space = Text(meta, "namespace");
  pod.resource_version = Text(meta, "resourceVersion");
  pod.creation_timestamp = Text(meta, "creationTimestamp");
  const json* deletion = Field(meta, "deletionTimestamp");
  pod.deleting = deletion != nullptr && !deletion->is_null();
  pod.labels = StringMap(Field(meta, "labels"));
  pod.annotations = StringMap(Field(meta, "annotations"));
  const json* host_network = Field(Field(&object, "spec"), "hostNetwork");
  pod.host_network =
      host_network != nullptr && host_network->is_boolean() && host_network->get<bool>();
  const json* status = Field(&object, "status");
  pod.phase = Text(status, "phase");
  pod.pod_ip = Text(status, "podIP");
  pod.host_ip = Text(status, "hostIP");
  for (const char* list :
       {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
    const json* statuses = Field(status, list);
    if (statuses == nullptr || !statuses->is_array()) continue;
    for (const json& c : *statuses) {
      const std::string id = Text(&c, "containerID");  // empty until the container is created
      const std::string_view bare = StripRuntime(id);
      if (!bare.empty()) pod.container_ids.emplace_back(bare);
    }
  }
  return pod;
}

Skip SkipReason(const Pod& pod) {
  if (pod.pod_ip.empty()) return Skip::kNoIp;
  if (pod.phase == "Succeeded" || pod.phase == "Failed") return Skip::kFinished;
  if (pod.deleting) return Skip::kDeleting;
  if (pod.host_network || pod.pod_ip == pod.host_ip) return Skip::kHostNetwork;
  return Skip::kNone;
}

Result<std::shared_ptr<const re2::RE2>> CompileTagRegex(std::string_view text) {
  RE2::Options opts;
  opts.set_log_errors(false);
  const std::string pattern = GoSyntax(text);
  auto re = std::make_shared<const RE2>(pattern, opts);
  if (!re->ok())
    return Status::Error("invalid regex \"" + std::string(text) + "\": " + re->error());
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

TagRules::TagRules(std::shared_ptr<const re2::RE2> annotation_regex,
                   std::shared_ptr<const re2::RE2> label_regex)
    : annotations_(MakeRule(std::move(annotation_regex))),
      labels_(MakeRule(std::move(label_regex))) {}

std::optional<TagRules::Rule> TagRules::MakeRule(std::shared_ptr<const re2::RE2> re) {
  if (re == nullptr) return std::nullopt;
  Rule rule;
  const auto& named = re->NamedCapturingGroups();
  auto it = named.find("tag");
  if (it != named.end()) rule.tag_group = it->second;
  rule.re = std::move(re);
  return rule;
}

void TagRules::Apply(const Rule& rule, const std::vector<std::pair<std::string, std::string>>& kv,
                     std::vector<std::string>& out) {
  const int groups = rule.tag_group < 0 ? 1 : rule.tag_group + 1;
  std::vector<re2::StringPiece> match(static_cast<size_t>(groups));
  for (const auto& [key, value] : kv) {
    const re2::StringPiece text(key.data(), key.size());
    if (!rule.re->Match(text, 0, text.size(), RE2::UNANCHORED, match.data(), groups)) continue;
    std::string name = key;
    if (rule.tag_group >= 0) {
      const re2::StringPiece& g = match[static_cast<size_t>(rule.tag_group)];
      if (g.data() != nullptr && !g.empty()) name.assign(g.data(), g.size());
    }
    out.push_back(name + ":" + value);
  }
}

std::vector<std::string> TagRules::Tags(const Pod& pod) const {
  std::vector<std::string> tags;
  if (labels_) Apply(*labels_, pod.labels, tags);
  if (annotations_) Apply(*annotations_, pod.annotations, tags);
  return tags;
}

std::string_view StripRuntime(std::string_view container_id) {
  const size_t sep = container_id.find("://");
  return sep == std::string_view::npos ? container_id : container_id.substr(sep + 3);
}

bool IndexedPod::operator==(const IndexedPod& o) const {
  if (ip != o.ip || creation_timestamp != o.creation_timestamp || container_ids != o.container_ids)
    return false;
  if (instance == o.instance) return true;
  if (instance == nullptr || o.instance == nullptr) return false;
  return instance->id == o.instance->id && instance->tags == o.instance->tags;
}

std::optional<IndexedPod> ToIndexed(const Pod& pod, const TagRules& rules) {
  const Skip skip = SkipReason(pod);
  const bool by_containers =
      !pod.container_ids.empty() &&
      (skip == Skip::kNoIp || skip == Skip::kHostNetwork || skip == Skip::kDeleting);
  if (skip != Skip::kNone && !by_containers) return std::nullopt;
  auto instance = std::make_shared<Instance>();
  instance->id = pod.key();
  instance->tags = rules.Tags(pod);
  return IndexedPod{skip == Skip::kNone ? pod.pod_ip : std::string(), pod.creation_timestamp,
                    std::move(instance), pod.container_ids};
}

Index BuildIndex(const PodSet& pods, std::vector<IpConflict>* conflicts) {
  // For each IP the chosen pod's key; pods are visited in key order, so on equal creation
  // timestamps the first key wins.
  std::map<std::string, const PodSet::value_type*> chosen;
  std::map<std::string, std::vector<std::string>> all_on_ip;  // only filled when needed
  for (const auto& entry : pods) {
    if (entry.second.ip.empty()) continue;  // indexed by its containers only
    auto [it, inserted] = chosen.emplace(entry.second.ip, &entry);
    if (inserted) continue;
    if (conflicts != nullptr) {
      auto& keys = all_on_ip[entry.second.ip];
      if (keys.empty()) keys.push_back(it->second->first);
      keys.push_back(entry.first);
    }
    if (entry.second.creation_timestamp < it->second->second.creation_timestamp)
      it->second = &entry;
  }
  Index index;
  index.reserve(chosen.size());
  for (const auto& [ip, entry] : chosen) index.emplace(ip, entry->second.instance);
  if (conflicts != nullptr) {
    for (auto& [ip, keys] : all_on_ip) {
      IpConflict c;
      c.ip = ip;
      c.chosen = chosen[ip]->first;
      for (auto& k : keys) {
        if (k != c.chosen) c.others.push_back(std::move(k));
      }
      conflicts->push_back(std::move(c));
    }
  }
  return index;
}

ContainerIndex BuildContainerIndex(const PodSet& pods) {
  ContainerIndex index;
  for (const auto& [key, pod] : pods) {
    for (const std::string& id : pod.container_ids) index.emplace(id, pod.instance);
  }
  return index;
}

}  // namespace cstatsd::cloud::k8s
