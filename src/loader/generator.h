// The load generator's datagrams (gostatsd's cmd/loader, docs/performance.md#loader): metric lines
// of the four types with the configured name/tag cardinalities and value limits, packed into
// datagrams of at most buffer-size bytes. Pure and deterministic for a seed; used by cstatsd-loader
// and tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace cstatsd::loader {

enum class LineType { kCounter = 0, kGauge = 1, kSet = 2, kTimer = 3 };

struct TypeSpec {
  uint64_t count = 0;                       // lines of this type to send (count mode), or weight
  uint64_t name_cardinality = 1;            // distinct names
  std::vector<uint64_t> tag_cardinalities;  // each adds tag<i>:<0..n-1>
  double value_limit = 0;  // counters: 1+rand[0,limit]; gauges/timers: rand×limit;
                           // sets: member rand[0, limit)
};

struct LoadSpec {
  std::string prefix = "loadtest.";
  std::string suffix = ".%d";  // printf-style; %d is the name index
  size_t buffer_size = 1500;   // max datagram bytes
  TypeSpec types[4];           // indexed by LineType

  uint64_t TotalLines() const;
  uint64_t MaxSeries() const;  // Σ names × Π tag cardinalities
};

struct Datagram {
  std::string bytes;
  uint32_t lines[4] = {0, 0, 0, 0};  // per LineType
  uint32_t total_lines() const { return lines[0] + lines[1] + lines[2] + lines[3]; }
};

class Generator {
 public:
  Generator(const LoadSpec& spec, uint64_t seed);

  // Appends one line of a type chosen in proportion to the remaining counts (or weights).
  // Returns false when nothing remains (count mode exhausted).
  bool NextLine(std::string& line, LineType& type);

  // Fills a datagram with whole lines up to buffer_size (at least one line, even if longer).
  // With `budget` > 0 at most that many lines. Returns false when nothing was added.
  bool NextDatagram(Datagram& d, uint64_t budget = 0);

  // When true, counts are weights: types are drawn at random and never run out.
  void set_unbounded(bool unbounded) { unbounded_ = unbounded; }
  // When true, names (and tag values) go through every index in turn instead of at random, so
  // a pool of datagrams covers every series (e.g. a million-series benchmark).
  void set_sequential(bool sequential) { sequential_ = sequential; }

 private:
  std::string Name(LineType t);

  LoadSpec spec_;
  uint64_t remaining_[4];
  bool unbounded_ = false;
  bool sequential_ = false;
  uint64_t next_series_[4] = {0, 0, 0, 0};
  std::mt19937_64 rng_;
  std::string pending_;
  LineType pending_type_ = LineType::kCounter;
  bool has_pending_ = false;
};

}  // namespace cstatsd::loader
