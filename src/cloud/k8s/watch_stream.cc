#include "cloud/k8s/watch_stream.h"

#include <nlohmann/json.hpp>

namespace cstatsd::cloud::k8s {

LineSplitter::Fed LineSplitter::Deliver(std::string_view line, const OnLine& on_line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return Fed::kMore;
  return on_line(line) ? Fed::kMore : Fed::kStopped;
}

LineSplitter::Fed LineSplitter::Feed(std::string_view chunk, const OnLine& on_line) {
  for (size_t nl; (nl = chunk.find('\n')) != std::string_view::npos;) {
    const std::string_view head = chunk.substr(0, nl);
    chunk.remove_prefix(nl + 1);
    if (pending_.size() + head.size() > max_line_) {
      pending_.clear();
      return Fed::kTooLong;
    }
    Fed fed;
    if (pending_.empty()) {
      fed = Deliver(head, on_line);  // the whole line is in this chunk: no copy
    } else {
      pending_.append(head);
      std::string line = std::move(pending_);
      pending_.clear();
      fed = Deliver(line, on_line);
    }
    if (fed != Fed::kMore) return fed;
  }
  if (pending_.size() + chunk.size() > max_line_) {
    pending_.clear();
    return Fed::kTooLong;
  }
  pending_.append(chunk);
  return Fed::kMore;
}

LineSplitter::Fed LineSplitter::Finish(const OnLine& on_line) {
  std::string line = std::move(pending_);
  pending_.clear();
  return Deliver(line, on_line);
}

WatchEvent ApplyWatchEvent(std::string_view line, const TagRules& rules, PodSet& pods,
                           std::string& resource_version, bool& changed) {
  using json = nlohmann::json;
  const json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
  const json* object = Field(&event, "object");
  const std::string type = Text(&event, "type");
  if (event.is_discarded() || object == nullptr || type.empty()) {
    return {WatchEventKind::kNotAnEvent, ""};
  }
  if (type == "ERROR") {
    const json* code = Field(object, "code");
    if (code != nullptr && code->is_number_integer() && code->get<int64_t>() == 410) {
      return {WatchEventKind::kGone, ""};
    }
    return {WatchEventKind::kError, Text(object, "message")};
  }
  const std::string version = Text(Field(object, "metadata"), "resourceVersion");
  if (!version.empty()) resource_version = version;
  if (type == "BOOKMARK") return {WatchEventKind::kBookmark, ""};
  auto pod = ParsePod(*object);
  if (!pod.ok()) return {WatchEventKind::kBadPod, ""};
  const std::string key = pod->key();
  if (type == "ADDED" || type == "MODIFIED") {
    if (auto entry = ToIndexed(*pod, rules)) {
      auto it = pods.find(key);
      if (it == pods.end() || !(it->second == *entry)) {
        pods.insert_or_assign(key, std::move(*entry));
        changed = true;
      }
    } else if (pods.erase(key) > 0) {
      changed = true;
    }
  } else if (type == "DELETED") {
    if (pods.erase(key) > 0) changed = true;
  }
  return {WatchEventKind::kApplied, ""};
}

}  // namespace cstatsd::cloud::k8s
