// The value types that flow from the parser into the pipeline: one parsed metric line (views
// into the datagram, reused from line to line) and an event (owning, events are rare).
// Owned by the thread that parses; not shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cstatsd {

// gostatsd's enum values (COUNTER=1, TIMER=2, GAUGE=3, SET=4).
enum class MetricType : uint8_t { kCounter = 1, kTimer = 2, kGauge = 3, kSet = 4 };

std::string_view MetricTypeName(MetricType type);  // "counter", "timer", "gauge", "set"

// One metric line as parsed. Views point into the datagram or into the parser's scratch space
// and stay valid until the parser parses the next line. Vectors keep their capacity, so reusing
// one ParsedMetric allocates nothing in the steady state.
struct ParsedMetric {
  MetricType type = MetricType::kCounter;
  std::string_view name;               // sanitised, with the namespace prefix applied
  std::vector<double> values;          // c, g, ms/h: the packed values in order (may be empty)
  std::string_view set_value;          // s: the member, verbatim
  double rate = 1.0;                   // sample rate from '@'; finite and > 0
  std::vector<std::string_view> tags;  // as received, empty elements dropped, unsorted

  void Clear() {
    values.clear();
    tags.clear();
    set_value = {};
    name = {};
    rate = 1.0;
  }
};

enum class EventPriority : uint8_t { kNormal = 0, kLow = 1 };
enum class EventAlertType : uint8_t { kInfo = 0, kWarning = 1, kError = 2, kSuccess = 3 };

std::string_view EventPriorityName(EventPriority p);    // "normal", "low"
std::string_view EventAlertTypeName(EventAlertType t);  // "info", "warning", "error", "success"

// A DogStatsD event (spec §1.6). Source is the sender's IP once it has left the receiver.
struct Event {
  std::string title;
  std::string text;
  int64_t date_happened = 0;  // unix seconds; 0 = not given
  std::string source;         // h: while parsing; then the sender IP
  std::string aggregation_key;
  std::string source_type_name;
  std::vector<std::string> tags;
  EventPriority priority = EventPriority::kNormal;
  EventAlertType alert_type = EventAlertType::kInfo;

  bool operator==(const Event&) const = default;
};

}  // namespace cstatsd
