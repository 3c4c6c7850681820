// The statsd/DogStatsD line parser (docs/protocol.md and docs/compatibility.md#decisions): bytes
// in, ParsedMetric or Event out. Pure: no I/O, no allocation per line in the steady state, never
// throws. One Parser per worker thread; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/metric.h"
#include "protocol/tag_dialects.h"

namespace cstatsd::protocol {

// kServiceCheck: a line that starts with `_sc|`, for ParseServiceCheck (not parsed here).
enum class LineKind : uint8_t { kMetric, kEvent, kServiceCheck, kBad };

// Why a line was bad (gostatsd's lexer error names in the comments).
enum class ParseError : uint8_t {
  kNone,
  kInvalidType,             // "invalid type": unknown type, '_' not followed by 'e', bad suffix
  kMissingKeySeparator,     // "missing key separator": no ':' after the name
  kKeyZeroLen,              // "key zero len": name empty after sanitising
  kMissingValueSeparator,   // "missing value separator": no '|' after the value
  kInvalidValue,            // a value that is not a float
  kInvalidValueNaN,         // "invalid value NaN"
  kNoValue,                 // gauge without any value (`x:|g`): docs/compatibility.md#decision-1
  kInvalidSampleRate,       // '@' text not a finite float > 0 (docs/compatibility.md#decision-1)
  kInvalidFormat,           // event: "invalid format"
  kNotEnoughData,           // event: "not enough data"
  kOverflow,                // event: "overflow"
  kInvalidEventAttributes,  // event: "invalid event attributes"
  kHistogramBounds,         // timer: a gsd_histogram tag beyond max-histogram-bounds (cstatsd)
  kInvalidTimestamp,        // `|T` not 1 to 9223372036 unix seconds (cstatsd)
};

std::string_view ParseErrorName(ParseError e);  // gostatsd's message text, e.g. "invalid type"

// What a Parser reads from the configuration; the defaults are the options' defaults.
struct ParserOptions {
  // `namespace`: when non-empty every metric name becomes "<namespace>.<name>".
  std::string namespace_prefix;
  // `max-histogram-bounds`: a timer line with a gsd_histogram tag listing more bounds is bad
  // (HistogramTagOverLimit).
  uint32_t max_histogram_bounds = kDefaultMaxHistogramBounds;
  // `tag-dialects`: the tag sections recognised in a metric name (docs/protocol.md#tag-dialects).
  TagDialects tag_dialects = kAllTagDialects;
};

class Parser {
 public:
  explicit Parser(const ParserOptions& options);
  // The options' defaults with this namespace and max-histogram-bounds.
  explicit Parser(std::string_view namespace_prefix = {},
                  uint32_t max_histogram_bounds = kDefaultMaxHistogramBounds);

  // Parses one line. The line has no '\n'; a trailing '\r' has already been removed (see
  // ForEachLine). On kMetric `metric` is filled (views into the line or this parser, valid until
  // the next call); on kEvent `event` is filled (event.source = the h: attribute, if any); on
  // kBad `error` says why.
  LineKind Parse(std::string_view line, ParsedMetric& metric, Event& event, ParseError& error);

 private:
  LineKind ParseEvent(std::string_view line, Event& event, ParseError& error);
  // The name of a key that is not a clean view (`first_odd`: its first byte the sanitiser does
  // not keep; `opener`: its first byte that may open a tag section, or key.size()): tag section,
  // sanitiser, namespace. False when the name is empty.
  bool ParseOddName(std::string_view key, size_t first_odd, size_t opener, ParsedMetric& metric);

  std::string namespace_prefix_;
  std::string name_scratch_;  // "<namespace>." then the name, when it is not a view of the input
  size_t prefix_len_ = 0;     // length of "<namespace>." (0 without a namespace)
  uint32_t max_histogram_bounds_;
  TagDialects tag_dialects_;
  // What ends the scan of a key that is not clean: its ':', or a byte that opens a section of
  // tag_dialects_.
  static constexpr uint8_t kKeyGoOn = 0, kKeyColon = 1, kKeyOpener = 2;
  std::array<uint8_t, 256> key_stop_;
  std::string float_scratch_;  // for float literals with digit underscores (rare)
  std::string tag_scratch_;    // the tags of a name's tag section, "k:v" each
};

// Calls fn(std::string_view line) for each line of a datagram: split on '\n', a NUL byte ends
// the line (the rest up to the '\n' is ignored, as gostatsd's lexer reads NUL as the end of its
// input), a trailing '\r' removed, empty lines skipped (docs/compatibility.md#decision-3).
template <typename Fn>
inline void ForEachLine(std::string_view datagram, Fn&& fn) {
  size_t start = 0;
  const size_t n = datagram.size();
  // One scan of the whole datagram: the usual one has no NUL, and its lines need no other.
  const bool has_nul = n > 0 && std::memchr(datagram.data(), 0, n) != nullptr;
  while (start < n) {
    size_t end = datagram.find('\n', start);
    if (end == std::string_view::npos) end = n;
    size_t len = end - start;
    if (has_nul && len > 0) {
      if (const void* nul = std::memchr(datagram.data() + start, 0, len); nul != nullptr) {
        len = static_cast<size_t>(static_cast<const char*>(nul) - (datagram.data() + start));
      }
    }
    if (len > 0 && datagram[start + len - 1] == '\r') --len;
    if (len > 0) fn(datagram.substr(start, len));
    start = end + 1;
  }
}

}  // namespace cstatsd::protocol
