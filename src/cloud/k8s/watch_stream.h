// The k8s provider's watch of the pods (GET /api/v1/pods?watch=1) as a decoder without the
// network: the API server answers with a chunked stream of JSON events, one per line
// ({"type":"ADDED","object":{...pod...}}), which LineSplitter cuts into lines (each bounded by
// max-watch-event-size) and ApplyWatchEvent applies to the pod set. Plain value types; used by
// one thread at a time (the provider's).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "cloud/k8s/pod_index.h"

namespace cstatsd::cloud::k8s {

// Cuts a byte stream, fed in chunks of any size, into its non-empty lines ('\n', or "\r\n",
// ends one). A line longer than max_line bytes ends the stream: nothing more than max_line bytes
// is ever buffered.
class LineSplitter {
 public:
  enum class Fed {
    kMore,     // every complete line was delivered; feed more
    kStopped,  // on_line returned false
    kTooLong,  // a line is longer than max_line (the stream must be dropped)
  };
  using OnLine = std::function<bool(std::string_view)>;

  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}

  Fed Feed(std::string_view chunk, const OnLine& on_line);
  // The end of the stream: the last line, if it had no '\n'.
  Fed Finish(const OnLine& on_line);

  size_t buffered() const { return pending_.size(); }
  size_t max_line() const { return max_line_; }

 private:
  Fed Deliver(std::string_view line, const OnLine& on_line);

  size_t max_line_;
  std::string pending_;  // the start of an incomplete line, at most max_line_ bytes
};

// What one line of the watch was.
enum class WatchEventKind {
  kApplied,     // ADDED, MODIFIED or DELETED (or an unknown type) applied to the pod set
  kBookmark,    // BOOKMARK: only the resourceVersion moves
  kBadPod,      // an event whose object is not a pod (counted; the watch goes on)
  kNotAnEvent,  // not a JSON object with "type" and "object" (the watch is dropped)
  kGone,        // ERROR 410: the resourceVersion is too old (re-list)
  kError,       // any other ERROR (the watch is dropped)
};

struct WatchEvent {
  WatchEventKind kind = WatchEventKind::kApplied;
  std::string message;  // kError: the status object's message
};

// Applies one watch line to `pods` (entries by "<namespace>/<name>", as ToIndexed makes them);
// `resource_version` takes the object's metadata.resourceVersion when it has one; `changed` is
// set when `pods` changed. Never throws.
WatchEvent ApplyWatchEvent(std::string_view line, const TagRules& rules, PodSet& pods,
                           std::string& resource_version, bool& changed);

}  // namespace cstatsd::cloud::k8s
