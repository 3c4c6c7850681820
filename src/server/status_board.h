// StatusBoard: what GET /status and /status.json show (docs/status-page.md). The flusher thread
// records each flush — rates from the cumulative counters, the flush duration, each backend's
// health, the top series by rate and the top metric names by series from the flush's snapshot —
// into a bounded history ring, and publishes an immutable StatusView behind a mutex (a pointer
// swap). HTTP threads take the current view under that mutex and build the JSON from it; the
// flusher never waits for them beyond the swap.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/aggregator.h"
#include "core/metric.h"
#include "server/components.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::server {

// Cumulative counts since the start, read at a flush; the board takes their differences.
struct StatusTotals {
  uint64_t datagrams = 0;     // receiver.datagrams_received
  uint64_t lines = 0;         // metric, event and service-check lines, and bad lines
  uint64_t metrics = 0;       // parser.metrics_received
  uint64_t bad_lines = 0;     // parser.bad_lines_seen
  uint64_t kernel_drops = 0;  // receiver.kernel_drops
  // Lines, values or datagrams lost inside the server, by internal metric name
  // (docs/internal-metrics.md); their sum is the internal drops.
  struct Drop {
    std::string name;
    uint64_t count = 0;
  };
  std::vector<Drop> drops;
  struct Backend {
    std::string name;
    uint64_t sent = 0;     // batches delivered (backend.sent)
    uint64_t dropped = 0;  // batches given up: send failed or queue full (backend.dropped)
    uint64_t retried = 0;  // backend.retried
    uint64_t series_sent = 0;
  };
  std::vector<Backend> backends;
};

// What Components count: the workers' totals, the kernel's drops, backends, the internal drops.
// `timed_dropped`: the flusher's own count of dropped DogStatsD timestamped samples. Flusher
// thread (it reads a few /proc files).
StatusTotals ReadStatusTotals(const Components& parts, const aggregate::Aggregator* aggregator,
                              uint64_t timed_dropped);

// One flush, as the charts draw it.
struct StatusSample {
  int64_t unix_ms = 0;  // the flush's time
  double lines_per_second = 0;
  double datagrams_per_second = 0;
  double bad_lines_per_second = 0;
  double kernel_drops_per_second = 0;
  double internal_drops_per_second = 0;
  double flush_ms = 0;  // merge + compute + hand to the backends + reset
  uint64_t series = 0;  // held by the aggregator after the flush
};

struct StatusView {
  std::string version;
  int64_t started_unix_ms = 0;
  int64_t unix_ms = 0;  // 0: no flush yet
  double interval_seconds = 0;
  StatusSample last;
  double flush_ms_max = 0;  // over the history
  double board_ms = 0;      // what computing this view cost the flusher
  uint64_t datagrams = 0, lines = 0, bad_lines = 0, kernel_drops = 0, internal_drops = 0;
  std::vector<StatusTotals::Drop> drops;
  uint64_t series = 0, overflow_series = 0, series_overflowed = 0, series_dropped = 0;
  uint64_t snapshot_series = 0;  // series in the last flush (what the top lists read)
  struct Backend {
    std::string name;
    uint64_t sent = 0, dropped = 0, retried = 0, series_sent = 0;
    int64_t last_success_unix_ms = 0;  // the flush at which `sent` was seen to grow; 0 never
  };
  std::vector<Backend> backends;
  struct Series {
    MetricType type = MetricType::kCounter;
    std::string name, tags, source;
    double rate = 0;  // per second: a counter's value, a timer's values, a set's members
  };
  std::vector<Series> top_series;
  struct Name {
    MetricType type = MetricType::kCounter;
    std::string name;
    uint64_t series = 0;  // top_names: series of the name (at most); overflowing: 0
    uint64_t error = 0;   // top_names: series - error is the least it may have
    double rate = 0;      // overflowing: the rate of its overflow series
  };
  std::vector<Name> top_names;
  std::vector<Name> overflowing;      // names with an overflow series (docs/limits.md)
  std::vector<StatusSample> history;  // oldest first
};

// /status.json's document (docs/status-page.md#json). Strings are JSON-escaped, invalid UTF-8
// replaced by U+FFFD, and `<`, `>`, `&` written as \u escapes, so the document is inert even if
// a browser were to read it as HTML.
std::string StatusJson(const StatusView& view);

class StatusBoard {
 public:
  static constexpr size_t kTopK = 10;
  static constexpr size_t kHistory = 600;  // flushes: 10 minutes at the default 1 s interval

  explicit StatusBoard(int64_t started_unix_ms, size_t top_k = kTopK, size_t history = kHistory);
  ~StatusBoard();

  // Flusher thread: one flush at `now_ns` over `interval_seconds` (0: since the previous
  // record, or the start). `snapshot` may be null (forwarder mode: no top lists).
  void Record(int64_t now_ns, double interval_seconds, const StatusTotals& totals,
              const snapshot::FlushSnapshot* snapshot, const aggregate::Aggregator* aggregator,
              double flush_ms);

  // Any thread: the last view published (never null).
  std::shared_ptr<const StatusView> View() const;
  // Any thread (the HTTP servers): /status.json. A request turns the count of the top metric
  // names on for kNamesWhileViewedNs, refreshed every kNamesEveryNs (docs/status-page.md#cost).
  std::string Json();

  static constexpr int64_t kNamesWhileViewedNs = int64_t{600} * 1000000000;
  static constexpr int64_t kNamesEveryNs = int64_t{10} * 1000000000;

 private:
  struct Scratch;  // the flusher's reused tables (top-k heaps, the per-name counts)

  // The top series and overflowing names, and with `names` the top metric names by series.
  void TopLists(const snapshot::FlushSnapshot& snap, StatusView& view, bool names);

  const size_t history_size_;
  std::unique_ptr<Scratch> scratch_;
  // The flusher's.
  std::vector<StatusSample> ring_;
  size_t ring_next_ = 0;
  int64_t previous_ns_ = 0;  // the previous record's time
  StatusTotals previous_;
  std::vector<int64_t> last_success_ms_;      // by backend index
  int64_t names_until_ns_ = 0;                // top metric names are counted until then,
  int64_t names_next_ns_ = 0;                 // next from then on
  std::vector<StatusView::Name> last_names_;  // their last count
  std::atomic<bool> requested_{false};

  mutable std::mutex mu_;
  std::shared_ptr<const StatusView> view_;  // guarded by mu_
};

}  // namespace cstatsd::server
