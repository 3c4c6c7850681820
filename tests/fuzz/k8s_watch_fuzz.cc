// Fuzz target for the k8s provider's watch stream (GET /api/v1/pods?watch=1): a chunked stream
// of JSON events, one per line, cut into lines by LineSplitter and applied to the pod set by
// ApplyWatchEvent, as the provider does (the stream ends at the first event that is not one, an
// ERROR or a 410). Header: byte 0 sets the longest line (64 + 16 * byte bytes), byte 1 the size
// of the chunks the stream arrives in (1 + byte). Traps unless the splitter never buffers more
// than the longest line, delivers the same lines whatever the chunking, and a pod set whose
// `changed` flag stayed unset did not change size; and unless the index of the pods has at most
// one entry per pod, every pod is indexed by an IP or a container id, and the index by container
// has at most one entry per (non-empty) container id.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/k8s/pod_index.h"
#include "cloud/k8s/watch_stream.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const cstatsd::cloud::k8s::TagRules& Rules() {
  using namespace cstatsd::cloud::k8s;
  static const TagRules rules(*CompileTagRegex(R"(^gostatsd\.atlassian\.com/(?P<tag>.*)$)"),
                              *CompileTagRegex("^app"));
  return rules;
}

// The lines of the whole stream, split at once: the reference for the chunked splitter.
std::vector<std::string_view> AllLines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cstatsd::cloud::k8s;
  if (size < 2) return 0;
  const size_t max_line = 64 + size_t{16} * data[0];
  const size_t chunk = 1 + size_t{data[1]};
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  LineSplitter splitter(max_line);
  PodSet pods;
  std::string resource_version;
  std::vector<std::string> lines;
  bool ended = false;
  const LineSplitter::OnLine on_line = [&](std::string_view line) {
    Check(!line.empty() && line.size() <= max_line);
    Check(line.find('\n') == std::string_view::npos);
    lines.emplace_back(line);
    const size_t before = pods.size();
    bool changed = false;
    const WatchEvent e = ApplyWatchEvent(line, Rules(), pods, resource_version, changed);
    if (!changed) Check(pods.size() == before);
    ended = e.kind == WatchEventKind::kNotAnEvent || e.kind == WatchEventKind::kGone ||
            e.kind == WatchEventKind::kError;
    return !ended;
  };
  LineSplitter::Fed fed = LineSplitter::Fed::kMore;
  for (size_t at = 0; at < stream.size() && fed == LineSplitter::Fed::kMore; at += chunk) {
    fed = splitter.Feed(stream.substr(at, chunk), on_line);
    Check(splitter.buffered() <= max_line);
  }
  if (fed == LineSplitter::Fed::kMore) fed = splitter.Finish(on_line);
  Check((fed == LineSplitter::Fed::kStopped) == ended);

  const std::vector<std::string_view> expected = AllLines(stream);
  bool too_long = false;
  for (std::string_view l : expected) too_long = too_long || l.size() > max_line;
  if (fed == LineSplitter::Fed::kMore) {
    Check(!too_long && lines.size() == expected.size());
  } else {
    Check(lines.size() <= expected.size());
  }
  for (size_t i = 0; i < lines.size(); ++i) Check(lines[i] == expected[i]);

  std::vector<IpConflict> conflicts;
  const cstatsd::cloud::Index index = BuildIndex(pods, &conflicts);
  Check(index.size() <= pods.size());
  size_t container_ids = 0;
  for (const auto& [key, pod] : pods) {
    Check(!pod.ip.empty() || !pod.container_ids.empty());  // indexed by something
    for (const std::string& id : pod.container_ids) Check(!id.empty());
    container_ids += pod.container_ids.size();
  }
  Check(BuildContainerIndex(pods).size() <= container_ids);
  return 0;
}
