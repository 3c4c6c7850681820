// Pipeline: what happens to a parsed metric between the parser and the worker's map —
// the source (sender IP, or the first host: tag with ignore-host, docs/protocol.md#source), the
// cloud provider's enrichment (docs/cloud-providers.md, when an Enricher is set), filters
// (docs/filtering.md), default tags, de-duplication and sorting of tags (the tagsKey of
// docs/aggregation.md#identity), and the receive rules of docs/aggregation.md#receive. One Pipeline
// per worker thread (it keeps scratch space); the options are shared read-only.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/enricher.h"
#include "config/options.h"
#include "core/metric.h"
#include "core/metric_map.h"
#include "filter/filter.h"

namespace cstatsd::pipeline {

// A series that arrives already aggregated (HTTP ingestion, docs/http.md#ingestion). Its values are
// added as they are: no sample rate is applied. Views and pointers belong to the caller.
struct AggregatedSeries {
  MetricType type = MetricType::kCounter;
  std::string_view name;
  std::vector<std::string_view> tags;  // as sent (the forwarder's tagsKey is not used)
  int64_t counter = 0;                 // counter: the value, already divided by rate
  // counter: the value with its fraction, when the sender gave one (RawCounterV2.FloatValue,
  // docs/forwarder.md#schema); used instead of `counter` with float-counters.
  bool has_float_counter = false;
  double float_counter = 0;
  double gauge = 0;                           // gauge
  const double* timer_values = nullptr;       // timer: the values ...
  size_t timer_count = 0;                     // ... how many ...
  double sample_count = 0;                    // ... and what they count for
  TimerKind timer_kind = TimerKind::kMs;      // ... and their kind (absent on the wire: ms)
  std::vector<std::string_view> set_members;  // set
};

// The value rules of a line (the parser's), for a series that arrives aggregated: a gauge or
// a timer value that is NaN, a timer sample count that is not a finite number >= 0, a timer
// gsd_histogram tag with more than max_histogram_bounds bounds. True when none applies.
bool ValidAggregated(const AggregatedSeries& s, uint32_t max_histogram_bounds);

// An event's tags as gostatsd's tag handler leaves them: repeated tags removed (each replaced by
// the last tag, as gostatsd's uniqueTags does), then the default tags not present appended.
void UniqueEventTags(std::vector<std::string>& tags, const std::vector<std::string>& defaults);

struct PipelineOptions {
  bool ignore_host = false;
  uint32_t max_histogram_bounds = kDefaultMaxHistogramBounds;  // max-histogram-bounds
  std::vector<std::string> default_tags;                       // de-duplicated
  std::shared_ptr<const filter::FilterSet> filters;            // null or empty: no filtering
  bool gauge_deltas = false;    // gauge-deltas: signed gauge values adjust the gauge
  bool float_counters = false;  // float-counters: counters keep their fraction (FloatCount)

  static PipelineOptions From(const config::Options& o);
};

class Pipeline {
 public:
  explicit Pipeline(const PipelineOptions* options);

  // A metric from the network: source = sender, or the first host: tag with ignore-host.
  void Receive(const ParsedMetric& m, std::string_view sender, int64_t now_ns, MetricMap& out);

  // A metric whose source is already decided (internal metrics, forwarded series). A NaN
  // value or a rate that is not finite and > 0 refuses it (counted in refused()), as for a line.
  void ReceiveWithSource(const ParsedMetric& m, std::string_view source, int64_t now_ns,
                         MetricMap& out);

  // An aggregated series whose source is decided (the forwarder's Hostname): the value rules
  // of every ingestion path (ValidAggregated), then default tags, tag sorting and
  // de-duplication as for any metric, then the merge rule of its type. False when the values
  // were refused (counted in refused()); a series a filter drops is not refused.
  bool ReceiveAggregated(const AggregatedSeries& s, std::string_view source, int64_t now_ns,
                         MetricMap& out);

  // Batched receive, for a worker's datagram: Stage() lays a line's key out, hashes it and
  // starts loading its slot; Commit() then applies every staged line in order. The memory loads
  // of one line overlap the parsing of the next ones. Receive() is Stage() + Commit() for one line.
  // With a cloud enricher, Stage() returns false when the metric's source has not been looked
  // up yet (and may_park): nothing is staged and the caller parks the line for missed_source().
  bool Stage(const ParsedMetric& m, std::string_view sender, MetricMap& out, int64_t now_ns = 0,
             bool may_park = true);
  std::string_view missed_source() const { return missed_source_; }

  // Cloud enrichment (docs/cloud-providers.md) before filters and default tags; null for none. The
  // enricher belongs to the caller and is used on this pipeline's thread only.
  void set_cloud(cloud::Enricher* enricher) { cloud_ = enricher; }
  void Commit(int64_t now_ns, MetricMap& out);

  // An event from the network: source = sender (always, as gostatsd); its tags de-duplicated and
  // the default tags added (UniqueEventTags).
  void ReceiveEvent(Event& e, std::string_view sender) const;

  // Series dropped by a filter's drop-metric so far (read by this pipeline's thread).
  uint64_t filtered() const { return filtered_; }
  // Series whose values ReceiveAggregated or ReceiveWithSource refused so far (this pipeline's
  // thread).
  uint64_t refused() const { return refused_; }

 private:
  // A staged line: its key at key_off in staged_keys_, its value(s), and the hash.
  struct Staged {
    uint64_t hash;
    uint32_t key_off, key_len, name_len, tags_len;
    MetricType type;
    TimerKind timer_kind;  // timer: `ms` or `h`
    bool gauge_delta;      // gauge: a delta (gauge-deltas on and the value was signed)
    double rate;
    double value;                       // counter: sum of values; gauge: the last value
    uint32_t values_off, values_count;  // timer: values in staged_values_
    std::string_view member;            // set: the member (in the datagram)
    // counter, gauge: `|T` unix seconds, 0 = none (docs/aggregation.md#timestamped-samples)
    int64_t timestamp;
  };

  std::string_view SourceAndTags(const ParsedMetric& m, std::string_view sender);
  // Writes name + sorted, de-duplicated tags (+ default tags) + source at buf[at...] and
  // returns its parts (the view is valid until buf grows again).
  KeyParts LayoutKey(MetricType type, std::string_view name, std::string_view source,
                     std::vector<char>& buf, size_t at);
  void StageWithSource(const ParsedMetric& m, std::string_view source, MetricMap& out);
  // Applies the cloud provider's answer to the source and tags_; false when it is not known yet.
  bool Enrich(std::string_view& source, int64_t now_ns, bool may_park);
  // source = the instance's id, tags_ += its tags.
  void ApplyInstance(const cloud::Instance& instance, std::string_view& source);
  // Runs the filters over tags_ (and the source); false when the series is dropped.
  bool Filter(std::string_view name, std::string_view& source);

  const PipelineOptions* options_;
  cloud::Enricher* cloud_ = nullptr;
  std::string_view missed_source_;
  std::vector<std::string_view> tags_;     // scratch: the metric's tags + default tags
  std::vector<std::string_view> dropped_;  // scratch: tags a filter dropped (default tags too)
  uint64_t filtered_ = 0;
  uint64_t refused_ = 0;
  // Copies s to out; the caller has made room (capacity only grows, so there is
  // no allocation in the steady state and no std::string bookkeeping per line).
  // tags_ (sorted, unique; tags_len bytes joined with ','), copied in one piece when one_run.
  char* AppendTags(char* p, size_t tags_len, bool one_run) const;
  static char* KeyAppend(char* out, std::string_view s) {
    if (!s.empty()) std::memcpy(out, s.data(), s.size());  // an empty view may be null
    return out + s.size();
  }

  std::vector<Staged> staged_;
  std::vector<char> staged_keys_;
  std::vector<double> staged_values_;
  size_t staged_keys_len_ = 0;
};

}  // namespace cstatsd::pipeline
