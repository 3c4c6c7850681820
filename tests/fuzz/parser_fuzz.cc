// Fuzz target for the statsd line parser and the Go float parser: runs ForEachLine + Parser::Parse
// (with and without a namespace, with and without the tag dialects) over the input and traps on any
// broken invariant. Also checks ParseGoFloat against glibc's strtod whenever Go's grammar accepts
// the input.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/float_parse.h"
#include "protocol/name_sanitiser.h"
#include "protocol/parser.h"

namespace {

using cstatsd::Event;
using cstatsd::MetricType;
using cstatsd::ParsedMetric;
using cstatsd::protocol::ClassifyNameByte;
using cstatsd::protocol::FloatParseStatus;
using cstatsd::protocol::LineKind;
using cstatsd::protocol::NameByte;
using cstatsd::protocol::ParseError;
using cstatsd::protocol::Parser;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

bool IsCleanName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (ClassifyNameByte(c) != NameByte::kKeep) return false;
  }
  return true;
}

// dialects: whether the parser reads tag sections in names, whose tags ("k:v") are views of the
// parser's scratch space instead of the line.
void CheckMetric(std::string_view line, const ParsedMetric& m, std::string_view ns,
                 bool dialects = true) {
  if (ns.empty()) {
    Check(IsCleanName(m.name));
  } else {
    Check(m.name.size() > ns.size() + 1);
    Check(m.name.substr(0, ns.size()) == ns && m.name[ns.size()] == '.');
    Check(IsCleanName(m.name.substr(ns.size() + 1)));
  }
  Check(std::isfinite(m.rate) && m.rate > 0);
  for (double v : m.values) Check(!std::isnan(v));
  if (m.type == MetricType::kGauge) Check(!m.values.empty());
  if (m.type == MetricType::kSet) {
    Check(m.values.empty());
    Check(Within(m.set_value, line));
  } else {
    Check(m.set_value.empty());
  }
  for (std::string_view t : m.tags) {
    Check(!t.empty());
    Check(Within(t, line) || (dialects && t.find(':') != std::string_view::npos));
    Check(t.find(',') == std::string_view::npos && t.find('|') == std::string_view::npos);
  }
  Check(line[0] != '_');
  // DogStatsD fields (docs/protocol.md#dogstatsd-fields).
  Check(m.timestamp >= 0 && m.timestamp <= 9223372036);
  if (m.type != MetricType::kCounter && m.type != MetricType::kGauge) Check(m.timestamp == 0);
  for (std::string_view f : {m.container_id, m.external_data, m.cardinality}) {
    Check(f.empty() || Within(f, line));
  }
  if (m.type == MetricType::kGauge) {
    Check(m.gauge_delta_from <= m.values.size());
    Check(m.gauge_delta == (m.gauge_delta_from < m.values.size()));
  } else {
    Check(!m.gauge_delta && m.gauge_delta_from == 0);
  }
}

void CheckEvent(std::string_view line, const Event& e) {
  Check(line.size() >= 2 && line[0] == '_' && line[1] == 'e');
  Check(e.title.size() + e.text.size() < line.size());
  Check(e.date_happened >= 0);
  for (const std::string& t : e.tags) {
    Check(!t.empty() && t.find(',') == std::string::npos && t.find('|') == std::string::npos);
  }
}

// Runs one line through both parsers; they must agree, and each result must be well formed.
void ParseLine(std::string_view line, Parser& plain, Parser& with_ns, Parser& no_dialects,
               ParsedMetric& m1, ParsedMetric& m2, Event& event) {
  ParseError e1 = ParseError::kNone;
  ParseError e2 = ParseError::kNone;
  const LineKind k1 = plain.Parse(line, m1, event, e1);
  if (k1 == LineKind::kMetric) CheckMetric(line, m1, {});
  if (k1 == LineKind::kEvent) CheckEvent(line, event);
  Check((k1 == LineKind::kBad) == (e1 != ParseError::kNone));
  const LineKind k2 = with_ns.Parse(line, m2, event, e2);
  if (k2 == LineKind::kMetric) CheckMetric(line, m2, "ns");
  if (k2 == LineKind::kEvent) CheckEvent(line, event);
  Check(k1 == k2 && e1 == e2);
  if (k1 == LineKind::kMetric) {
    Check(m2.name.substr(3) == m1.name);
    Check(m1.type == m2.type && m1.values.size() == m2.values.size());
    Check(m1.tags.size() == m2.tags.size() && m1.rate == m2.rate);
    Check(m1.timestamp == m2.timestamp && m1.gauge_delta_from == m2.gauge_delta_from);
  }
  // `tag-dialects = []`: gostatsd's names; the rest of the line reads the same.
  ParseError e3 = ParseError::kNone;
  const LineKind k3 = no_dialects.Parse(line, m2, event, e3);
  if (k3 == LineKind::kMetric) CheckMetric(line, m2, {}, false);
  if (k1 == LineKind::kMetric && k3 == LineKind::kMetric) {
    Check(m1.type == m2.type && m1.values.size() == m2.values.size() && m1.rate == m2.rate);
    Check(m1.tags.size() >= m2.tags.size());
  }
  if (k1 != LineKind::kMetric && k3 == LineKind::kMetric) {  // a name empty without its section,
    Check(e1 == ParseError::kKeyZeroLen || e1 == ParseError::kHistogramBounds);  // or its tags
  }
}

// Differential check: when Go's grammar accepts `s`, glibc's strtod (correctly rounded, and a
// superset of the grammar) must give the same double. Underscores, and exponents long enough for
// Go's 10000 cap to matter, are outside strtod's reach and skipped.
void CheckFloat(std::string_view s) {
  std::string scratch;
  double v = 0;
  const FloatParseStatus st = cstatsd::protocol::ParseGoFloat(s, v, scratch);
  if (st == FloatParseStatus::kSyntax) return;
  if (st == FloatParseStatus::kRange) {
    Check(std::isinf(v));
    return;
  }
  if (std::isnan(v) || s.find('_') != std::string_view::npos) return;
  if (s.find('\0') != std::string_view::npos) return;
  const size_t exp_at = s.find_last_of("eEpP");
  if (exp_at != std::string_view::npos && s.size() - exp_at > 5) return;
  const std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const double want = std::strtod(copy.c_str(), &end);
  Check(end == copy.c_str() + copy.size());
  Check(std::memcmp(&want, &v, sizeof v) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static Parser plain;
  static Parser with_ns("ns");
  static Parser no_dialects([] {
    cstatsd::protocol::ParserOptions options;
    options.tag_dialects = 0;
    return options;
  }());
  static ParsedMetric m1;
  static ParsedMetric m2;
  static Event event;
  size_t lines = 0;
  cstatsd::protocol::ForEachLine(input, [&](std::string_view line) {
    Check(!line.empty() && line.find('\n') == std::string_view::npos && Within(line, input));
    ++lines;
    ParseLine(line, plain, with_ns, no_dialects, m1, m2, event);
  });
  Check(lines <= size);
  if (size > 0)
    ParseLine(input, plain, with_ns, no_dialects, m1, m2, event);  // one raw line, '\n' and all
  if (size <= 4096) CheckFloat(input);
  return 0;
}
