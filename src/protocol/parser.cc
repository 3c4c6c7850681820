#include "protocol/parser.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "protocol/float_parse.h"
#include "protocol/name_sanitiser.h"

namespace cstatsd::protocol {
namespace {

inline LineKind Bad(ParseError& error, ParseError why) {
  error = why;
  return LineKind::kBad;
}

// Index of the first `c` in `line` at or after `pos`, or line.size() when there is none.
inline size_t FindByte(std::string_view line, size_t pos, char c) {
  if (pos >= line.size()) return line.size();
  // Most fields are short: a plain loop beats the call into memchr for the first bytes.
  const size_t short_end = std::min(line.size(), pos + 16);
  for (; pos < short_end; ++pos) {
    if (line[pos] == c) return pos;
  }
  if (pos == line.size()) return pos;
  const void* hit = std::memchr(line.data() + pos, c, line.size() - pos);
  return hit != nullptr ? static_cast<size_t>(static_cast<const char*>(hit) - line.data())
                        : line.size();
}

// Calls add(tag) for each non-empty ','-separated element of line[pos, end).
template <typename Add>
inline void SplitTags(std::string_view line, size_t pos, size_t end, Add&& add) {
  size_t start = pos;
  for (size_t i = pos; i < end; ++i) {
    if (line[i] == ',') {
      if (i > start) add(line.substr(start, i - start));
      start = i + 1;
    }
  }
  if (end > start) add(line.substr(start, end - start));
}

// Reads decimal digits at `pos` (gostatsd's lexUint): no digit is kInvalidFormat, a value that
// does not fit in uint64 or exceeds `max` is kOverflow. `pos` ends after the digits.
ParseError ReadUint(std::string_view line, size_t& pos, uint64_t max, uint64_t& value) {
  const size_t start = pos;
  uint64_t v = 0;
  for (; pos < line.size(); ++pos) {
    const unsigned digit = static_cast<unsigned char>(line[pos]) - unsigned{'0'};
    if (digit > 9) break;
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return ParseError::kOverflow;
    v = v * 10 + digit;
  }
  if (pos == start) return ParseError::kInvalidFormat;
  if (v > max) return ParseError::kOverflow;
  value = v;
  return ParseError::kNone;
}

// A DogStatsD `|T` timestamp: 1 or more decimal digits, 1 to 9223372036 (the last second whose
// nanoseconds fit in int64, 2262-04-11), nothing else.
bool ReadTimestamp(std::string_view text, int64_t& ts) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 1000000000;
  size_t pos = 0;
  uint64_t v = 0;
  if (ReadUint(text, pos, kMax, v) != ParseError::kNone || pos != text.size() || v == 0) {
    return false;
  }
  ts = static_cast<int64_t>(v);
  return true;
}

// Event text: the two-byte sequence backslash-n becomes a newline (Go's bytes.Replace, left to
// right, non-overlapping).
void AssignEventText(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(raw[i]);
    }
  }
}

// Back to the defaults, keeping string capacity.
void ResetEvent(Event& event) {
  event.title.clear();
  event.text.clear();
  event.date_happened = 0;
  event.source.clear();
  event.aggregation_key.clear();
  event.source_type_name.clear();
  event.tags.clear();
  event.priority = EventPriority::kNormal;
  event.alert_type = EventAlertType::kInfo;
}

}  // namespace

std::string_view ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return "none";
    case ParseError::kInvalidType:
      return "invalid type";
    case ParseError::kMissingKeySeparator:
      return "missing key separator";
    case ParseError::kKeyZeroLen:
      return "key zero len";
    case ParseError::kMissingValueSeparator:
      return "missing value separator";
    case ParseError::kInvalidValue:
      return "invalid value";
    case ParseError::kInvalidValueNaN:
      return "invalid value NaN";
    case ParseError::kNoValue:
      return "no value";
    case ParseError::kInvalidSampleRate:
      return "invalid sample rate";
    case ParseError::kInvalidFormat:
      return "invalid format";
    case ParseError::kNotEnoughData:
      return "not enough data";
    case ParseError::kOverflow:
      return "overflow";
    case ParseError::kInvalidEventAttributes:
      return "invalid event attributes";
    case ParseError::kHistogramBounds:
      return "too many histogram bounds";
    case ParseError::kInvalidTimestamp:
      return "invalid timestamp";
  }
  return "unknown";
}

Parser::Parser(const ParserOptions& options)
    : namespace_prefix_(options.namespace_prefix),
      max_histogram_bounds_(options.max_histogram_bounds),
      tag_dialects_(options.tag_dialects) {
  key_stop_.fill(kKeyGoOn);
  key_stop_[':'] = kKeyColon;
  const std::pair<char, TagDialects> openers[] = {{',', kTagDialectInfluxDb},
                                                  {';', kTagDialectGraphite},
                                                  {'#', kTagDialectLibrato},
                                                  {'[', kTagDialectSignalFx}};
  for (const auto& [c, dialect] : openers) {
    if ((tag_dialects_ & dialect) != 0) key_stop_[static_cast<unsigned char>(c)] = kKeyOpener;
  }
  if (!namespace_prefix_.empty()) {
    name_scratch_ = namespace_prefix_;
    name_scratch_.push_back('.');
    prefix_len_ = name_scratch_.size();
  }
}

Parser::Parser(std::string_view namespace_prefix, uint32_t max_histogram_bounds)
    : Parser(ParserOptions{std::string(namespace_prefix), max_histogram_bounds}) {}

bool Parser::ParseOddName(std::string_view key, size_t first_odd, size_t opener,
                          ParsedMetric& metric) {
  NameTagSection section;
  if (opener == key.size() || !FindNameTagSection(key, opener, tag_dialects_, section)) {
    name_scratch_.resize(prefix_len_);
    AppendSanitisedName(key, name_scratch_);
    if (name_scratch_.size() == prefix_len_) return false;
    metric.name = name_scratch_;
    return true;
  }
  AppendNameTags(key.substr(section.open + 1, section.close - section.open - 1), section.separator,
                 tag_scratch_, metric.tags);
  // Telegraf's usual `name,k=v`: a clean name before the section stays a view of the input.
  if (prefix_len_ == 0 && section.open == first_odd && section.resume == key.size()) {
    if (first_odd == 0) return false;
    metric.name = key.substr(0, first_odd);
    return true;
  }
  name_scratch_.resize(prefix_len_);
  AppendSanitisedName(key.substr(0, section.open), name_scratch_);
  AppendSanitisedName(key.substr(section.resume), name_scratch_);
  if (name_scratch_.size() == prefix_len_) return false;
  metric.name = name_scratch_;
  return true;
}

LineKind Parser::Parse(std::string_view line, ParsedMetric& metric, Event& event,
                       ParseError& error) {
  error = ParseError::kNone;
  const size_t n = line.size();
  if (n == 0) return Bad(error, ParseError::kInvalidType);
  if (line[0] == '_') {
    // Service checks are parsed by the caller (protocol/service_check.h): they are rare.
    if (line.starts_with("_sc|")) return LineKind::kServiceCheck;
    return ParseEvent(line, event, error);
  }

  metric.Clear();
  const char* const data = line.data();

  // Key: the common case is a name that needs no change, which stays a view of the input.
  size_t colon = 0;
  while (colon < n && ClassifyNameByte(data[colon]) == NameByte::kKeep) ++colon;
  const bool clean = colon < n && data[colon] == ':';
  if (clean && prefix_len_ == 0) {
    if (colon == 0) return Bad(error, ParseError::kKeyZeroLen);
    metric.name = line.substr(0, colon);
  } else if (clean) {
    if (colon == 0) return Bad(error, ParseError::kKeyZeroLen);
    name_scratch_.resize(prefix_len_);
    name_scratch_.append(data, colon);
    metric.name = name_scratch_;
  } else {
    // One pass to the ':' that also finds the first byte that may open a tag section.
    const size_t first_odd = colon;  // the byte that ended the clean scan
    while (colon < n && key_stop_[static_cast<unsigned char>(data[colon])] == kKeyGoOn) ++colon;
    size_t opener = n;
    if (colon < n && data[colon] != ':') {
      opener = colon;
      colon = FindByte(line, colon, ':');
    }
    if (colon == n) return Bad(error, ParseError::kMissingKeySeparator);
    if (!ParseOddName(line.substr(0, colon), first_odd, std::min(opener, colon), metric)) {
      return Bad(error, ParseError::kKeyZeroLen);
    }
  }

  // Value part: everything up to the first '|'.
  const size_t value_begin = colon + 1;
  const size_t bar = FindByte(line, value_begin, '|');
  if (bar == n) return Bad(error, ParseError::kMissingValueSeparator);

  // Type.
  size_t pos = bar + 1;
  if (pos == n) return Bad(error, ParseError::kInvalidType);
  MetricType type;
  switch (data[pos]) {
    case 'c':
      type = MetricType::kCounter;
      ++pos;
      break;
    case 'g':
      type = MetricType::kGauge;
      ++pos;
      break;
    case 'h':
      type = MetricType::kTimer;
      metric.timer_kind = TimerKind::kHistogram;
      ++pos;
      break;
    case 's':
      type = MetricType::kSet;
      ++pos;
      break;
    case 'd':  // DogStatsD distribution: a timer (docs/protocol.md#metric-lines)
      type = MetricType::kTimer;
      metric.timer_kind = TimerKind::kDistribution;
      ++pos;
      break;
    case 'm':  // timer_kind stays kMs (Clear)
      if (pos + 1 == n || data[pos + 1] != 's') return Bad(error, ParseError::kInvalidType);
      type = MetricType::kTimer;
      pos += 2;
      break;
    default:
      return Bad(error, ParseError::kInvalidType);
  }
  metric.type = type;

  // Attributes. As in gostatsd, the byte after each '|' is consumed as the attribute's kind
  // whatever it is, so an empty attribute ("||") swallows the attribute that follows it.
  // A tag from the name's tag section may be a gsd_histogram tag too.
  bool maybe_histogram = type == MetricType::kTimer && !metric.tags.empty();
  while (pos < n) {
    if (data[pos] != '|') return Bad(error, ParseError::kInvalidType);
    if (++pos == n) break;
    const char kind = data[pos++];
    const size_t end = FindByte(line, pos, '|');
    // The hot attributes first; then the DogStatsD fields (docs/protocol.md#dogstatsd-fields).
    if (kind == '#') {
      if (type == MetricType::kTimer) {  // a timer's gsd_histogram tag is checked below
        SplitTags(line, pos, end, [&](std::string_view tag) {
          metric.tags.push_back(tag);
          maybe_histogram |= tag[0] == kHistogramTagPrefix[0];
        });
      } else {
        SplitTags(line, pos, end, [&metric](std::string_view tag) { metric.tags.push_back(tag); });
      }
    } else if (kind == '@') {
      double rate = 0;
      if (ParseGoFloat(line.substr(pos, end - pos), rate, float_scratch_) !=
              FloatParseStatus::kOk ||
          !ValidSampleRate(rate)) {
        return Bad(error, ParseError::kInvalidSampleRate);
      }
      metric.rate = rate;
    } else if (kind == 'T') {  // DogStatsD timestamp (docs/protocol.md#dogstatsd-fields)
      int64_t ts = 0;
      if (!ReadTimestamp(line.substr(pos, end - pos), ts)) {
        return Bad(error, ParseError::kInvalidTimestamp);
      }
      if (type == MetricType::kCounter || type == MetricType::kGauge) metric.timestamp = ts;
    } else if (kind == 'c') {  // c:<container id>, card:<cardinality>
      const std::string_view field = line.substr(pos, end - pos);
      if (!field.empty() && field[0] == ':') {
        metric.container_id = field.substr(1);
      } else if (field.starts_with("ard:")) {
        metric.cardinality = field.substr(4);
      }
    } else if (kind == 'e') {  // e:<external data>
      if (pos < end && data[pos] == ':') metric.external_data = line.substr(pos + 1, end - pos - 1);
    }
    pos = end;
  }
  if (maybe_histogram) {
    for (std::string_view tag : metric.tags) {
      if (HistogramTagOverLimit(tag, max_histogram_bounds_)) {
        return Bad(error, ParseError::kHistogramBounds);
      }
    }
  }

  // Values, after the whole line was lexed (gostatsd reports attribute errors first).
  const std::string_view value = line.substr(value_begin, bar - value_begin);
  if (type == MetricType::kSet) {
    metric.set_value = value;
    return LineKind::kMetric;
  }
  size_t unsigned_end = 0;  // gauges: one past the last value written without a sign
  for (size_t start = 0; start < value.size();) {
    const size_t end = FindByte(value, start, ':');
    if (end > start) {
      double v = 0;
      if (ParseGoFloat(value.substr(start, end - start), v, float_scratch_) !=
          FloatParseStatus::kOk) {
        return Bad(error, ParseError::kInvalidValue);
      }
      if (!ValidValue(v)) return Bad(error, ParseError::kInvalidValueNaN);
      metric.values.push_back(v);
      if (type == MetricType::kGauge && value[start] != '+' && value[start] != '-') {
        unsigned_end = metric.values.size();
      }
    }
    start = end + 1;
  }
  if (type == MetricType::kGauge) {
    if (metric.values.empty()) return Bad(error, ParseError::kNoValue);
    metric.gauge_delta_from = static_cast<uint32_t>(unsigned_end);
    metric.gauge_delta = unsigned_end < metric.values.size();
  }
  return LineKind::kMetric;
}

// _e{<title_len>,<text_len>}:<title>|<text>(|attr)* (docs/protocol.md#events).
LineKind Parser::ParseEvent(std::string_view line, Event& event, ParseError& error) {
  const size_t n = line.size();
  if (n < 2 || line[1] != 'e') return Bad(error, ParseError::kInvalidType);
  size_t pos = 2;
  const auto expect = [&](char c) {
    if (pos < n && line[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  constexpr uint64_t kMaxLen = std::numeric_limits<uint32_t>::max();
  uint64_t title_len = 0;
  uint64_t text_len = 0;
  if (!expect('{')) return Bad(error, ParseError::kInvalidFormat);
  if (ParseError e = ReadUint(line, pos, kMaxLen, title_len); e != ParseError::kNone) {
    return Bad(error, e);
  }
  if (!expect(',')) return Bad(error, ParseError::kInvalidFormat);
  if (ParseError e = ReadUint(line, pos, kMaxLen, text_len); e != ParseError::kNone) {
    return Bad(error, e);
  }
  if (!expect('}') || !expect(':')) return Bad(error, ParseError::kInvalidFormat);
  // Both lengths are below 2^32, so the sum cannot wrap (gostatsd's uint32 sum can, and panics).
  if (title_len + 1 + text_len > n - pos) return Bad(error, ParseError::kNotEnoughData);
  if (line[pos + title_len] != '|') return Bad(error, ParseError::kInvalidFormat);

  ResetEvent(event);
  event.title.assign(line.substr(pos, title_len));
  pos += title_len + 1;
  AssignEventText(line.substr(pos, text_len), event.text);
  pos += text_len;

  // Attributes: only the first byte selects one; as for metrics it is consumed whatever it is.
  while (pos < n) {
    if (line[pos] != '|') return Bad(error, ParseError::kInvalidEventAttributes);
    if (++pos == n) break;
    const char kind = line[pos++];
    switch (kind) {
      case 'd': {
        if (!expect(':')) return Bad(error, ParseError::kInvalidFormat);
        uint64_t date = 0;
        if (ParseError e = ReadUint(
                line, pos, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), date);
            e != ParseError::kNone) {
          return Bad(error, e);
        }
        event.date_happened = static_cast<int64_t>(date);
        break;
      }
      case 'h':
      case 'k':
      case 's':
      case 'p':
      case 't': {
        if (!expect(':')) return Bad(error, ParseError::kInvalidFormat);
        const size_t end = FindByte(line, pos, '|');
        const std::string_view v = line.substr(pos, end - pos);
        pos = end;
        if (kind == 'h') {
          event.source.assign(v);
        } else if (kind == 'k') {
          event.aggregation_key.assign(v);
        } else if (kind == 's') {
          event.source_type_name.assign(v);
        } else if (kind == 'p') {
          // As gostatsd: "normal" is accepted but leaves an earlier "low" in place.
          if (v == "low") {
            event.priority = EventPriority::kLow;
          } else if (v != "normal") {
            return Bad(error, ParseError::kInvalidEventAttributes);
          }
        } else {  // 't'; "info" is accepted but leaves an earlier value in place, as gostatsd
          if (v == "error") {
            event.alert_type = EventAlertType::kError;
          } else if (v == "warning") {
            event.alert_type = EventAlertType::kWarning;
          } else if (v == "success") {
            event.alert_type = EventAlertType::kSuccess;
          } else if (v != "info") {
            return Bad(error, ParseError::kInvalidEventAttributes);
          }
        }
        break;
      }
      case '#': {
        const size_t end = FindByte(line, pos, '|');
        SplitTags(line, pos, end, [&event](std::string_view tag) { event.tags.emplace_back(tag); });
        pos = end;
        break;
      }
      default:  // unknown attributes (c:..., x:...) are skipped
        pos = FindByte(line, pos, '|');
        break;
    }
  }
  return LineKind::kEvent;
}

}  // namespace cstatsd::protocol
