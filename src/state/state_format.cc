#include "state/state_format.h"

#include <xxhash.h>

#include <bit>
#include <cstring>
#include <memory>
#include <unordered_map>

namespace cstatsd::state {
namespace {

static_assert(std::endian::native == std::endian::little, "the format is little-endian");

// Writer and Reader have the same face, so one function per point type (CounterFields, ...)
// says the order of its fields for both directions: a Writer's methods take values, a Reader's
// the fields to fill.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_.append(b, sizeof(T));
  }
  void U8(uint8_t v) { Put(v); }
  void U32(uint32_t v) { Put(v); }
  void U64(uint64_t v) { Put(v); }
  void I64(int64_t v) { Put(v); }
  void F64(double v) { Put(v); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Count(size_t n) { U32(static_cast<uint32_t>(n)); }
  void Key(const SeriesKeyRef& k, MetricType) {
    Str(k->name());
    Str(k->tags());
    Str(k->source());
  }
  // A count, then each element.
  template <typename V, typename Fn>
  void List(const V& v, size_t /*min_bytes*/, const char* /*what*/, Fn&& each) {
    Count(v.size());
    for (const auto& e : v) each(e);
  }

 private:
  std::string& out_;
};

// Reads the body; every read checks the bytes left, and every count is checked against what the
// bytes left could hold before anything is reserved for it.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t left() const { return b_.size(); }

  template <typename T>
  T Get() {
    T v{};
    if (!Need(sizeof(T))) return v;
    std::memcpy(&v, b_.data(), sizeof(T));
    b_.remove_prefix(sizeof(T));
    return v;
  }
  uint8_t U8() { return Get<uint8_t>(); }
  uint32_t U32() { return Get<uint32_t>(); }
  int64_t I64() { return Get<int64_t>(); }
  double F64() { return Get<double>(); }
  void U64(uint64_t& v) { v = Get<uint64_t>(); }
  void I64(int64_t& v) { v = Get<int64_t>(); }
  void F64(double& v) { v = Get<double>(); }
  std::string_view Str() {
    const uint32_t n = U32();
    if (!Need(n)) return {};
    std::string_view s = b_.substr(0, n);
    b_.remove_prefix(n);
    return s;
  }
  // A count of elements that each take at least `min_bytes` in the file.
  uint32_t Count(size_t min_bytes, const char* what) {
    const uint32_t n = U32();
    if (ok() && n > b_.size() / min_bytes) {
      Fail(std::string(what) + " count " + std::to_string(n) + " exceeds the " +
           std::to_string(b_.size()) + " bytes left");
      return 0;
    }
    return ok() ? n : 0;
  }
  void Key(SeriesKeyRef& key, MetricType type) {
    const std::string_view name = Str(), tags = Str(), source = Str();
    if (!ok()) return;
    const uint64_t hash = SeriesKey::Hash(type, name, tags, source);
    key = SeriesKeyRef::Adopt(SeriesKey::Create(type, name, tags, source, hash));
  }
  // A checked count, then each element until one fails.
  template <typename V, typename Fn>
  void List(V& v, size_t min_bytes, const char* what, Fn&& each) {
    v.resize(Count(min_bytes, what));
    for (auto& e : v) {
      each(e);
      if (!ok()) break;
    }
  }
  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    b_ = {};
  }

 private:
  bool Need(size_t n) {
    if (!ok()) return false;
    if (b_.size() < n) {
      Fail("body truncated");
      return false;
    }
    return true;
  }
  std::string_view b_;
  std::string error_;
};

// The smallest encoding of each element, for Reader::Count: three empty strings for a key.
constexpr size_t kKeyBytes = 12;
constexpr size_t kCounterBytes = kKeyBytes + 24;
constexpr size_t kGaugeBytes = kKeyBytes + 16;
constexpr size_t kTimedCounterBytes = kKeyBytes + 24;
constexpr size_t kTimedGaugeBytes = kKeyBytes + 16;

// The fields of each point, in file order, for both directions (P is the point, const when
// writing).
template <typename Io, typename P>
void CounterFields(Io& io, P& c) {
  io.Key(c.key, MetricType::kCounter);
  io.I64(c.value);
  io.F64(c.per_second);
  io.F64(c.float_value);
}
template <typename Io, typename P>
void GaugeFields(Io& io, P& g) {
  io.Key(g.key, MetricType::kGauge);
  io.F64(g.value);
  io.I64(g.last_ns);
}
template <typename Io, typename P>
void TimedCounterFields(Io& io, P& c) {
  io.Key(c.key, MetricType::kCounter);
  io.I64(c.value);
  io.F64(c.per_second);
  io.I64(c.timestamp);
}
template <typename Io, typename P>
void TimedGaugeFields(Io& io, P& g) {
  io.Key(g.key, MetricType::kGauge);
  io.F64(g.value);
  io.I64(g.timestamp);
}
template <typename Io, typename T>
void TimerStatistics(Io& io, T& t) {
  io.I64(t.count);
  io.F64(t.count_per_second);
  io.F64(t.min);
  io.F64(t.max);
  io.F64(t.mean);
  io.F64(t.median);
  io.F64(t.stddev);
  io.F64(t.sum);
  io.F64(t.sum_squares);
}

void EncodeSnapshot(const snapshot::FlushSnapshot& s, Writer& w) {
  w.I64(s.flush_time_ns);
  w.F64(s.flush_seconds);
  w.U8(s.float_counters ? 1 : 0);
  w.U8(s.has_raw_values ? 1 : 0);
  // Percentile names once; each percentile point refers to one by index.
  static const std::vector<std::string> kNoNames;
  const std::vector<std::string>& names = s.percentile_names ? *s.percentile_names : kNoNames;
  std::unordered_map<std::string_view, uint32_t> name_index;
  w.Count(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) {
    w.Str(names[i]);
    name_index.emplace(names[i], i);
  }
  w.List(s.counters, 0, "", [&](const auto& c) { CounterFields(w, c); });
  w.List(s.gauges, 0, "", [&](const auto& g) { GaugeFields(w, g); });
  w.Count(s.sets.size());
  for (const auto& st : s.sets) {
    w.Key(st.key, MetricType::kSet);
    w.U64(st.cardinality);
    w.Count(st.members_end - st.members_begin);
    for (const std::string& m : s.MembersOf(st)) w.Str(m);
  }
  w.Count(s.timers.size());
  for (const auto& t : s.timers) {
    w.Key(t.key, MetricType::kTimer);
    w.U8(t.histogram ? 1 : 0);
    w.U8(static_cast<uint8_t>(t.kind));
    TimerStatistics(w, t);
    w.Count(t.percentiles_end - t.percentiles_begin);
    for (const auto& p : s.PercentilesOf(t)) {
      auto it = name_index.find(p.name);
      w.U32(it == name_index.end() ? UINT32_MAX : it->second);
      w.F64(p.value);
    }
    w.Count(t.buckets_end - t.buckets_begin);
    for (const auto& b : s.BucketsOf(t)) {
      w.F64(b.le);
      w.U64(b.count);
    }
    w.Count(t.values_end - t.values_begin);
    for (double v : s.ValuesOf(t)) w.F64(v);
  }
  w.List(s.timed_counters, 0, "", [&](const auto& c) { TimedCounterFields(w, c); });
  w.List(s.timed_gauges, 0, "", [&](const auto& g) { TimedGaugeFields(w, g); });
}

std::shared_ptr<const snapshot::FlushSnapshot> DecodeSnapshot(Reader& r) {
  auto s = std::make_shared<snapshot::FlushSnapshot>();
  r.I64(s->flush_time_ns);
  r.F64(s->flush_seconds);
  s->float_counters = r.U8() != 0;
  s->has_raw_values = r.U8() != 0;
  auto names = std::make_shared<std::vector<std::string>>();
  names->resize(r.Count(4, "percentile name"));
  for (auto& n : *names) n = r.Str();
  s->percentile_names = names;

  r.List(s->counters, kCounterBytes, "counter", [&](auto& c) { CounterFields(r, c); });
  r.List(s->gauges, kGaugeBytes, "gauge", [&](auto& g) { GaugeFields(r, g); });
  r.List(s->sets, kKeyBytes + 12, "set", [&](snapshot::SetPoint& st) {
    r.Key(st.key, MetricType::kSet);
    r.U64(st.cardinality);
    const uint32_t members = r.Count(4, "set member");
    st.members_begin = static_cast<uint32_t>(s->set_members.size());
    for (uint32_t i = 0; i < members; ++i) s->set_members.emplace_back(r.Str());
    st.members_end = static_cast<uint32_t>(s->set_members.size());
  });
  r.List(s->timers, kKeyBytes + 2 + 8 * 9 + 12, "timer", [&](snapshot::TimerPoint& t) {
    r.Key(t.key, MetricType::kTimer);
    t.histogram = r.U8() != 0;
    const uint8_t kind = r.U8();
    if (kind > static_cast<uint8_t>(TimerKind::kDistribution)) {
      r.Fail("unknown timer kind " + std::to_string(kind));
    }
    t.kind = static_cast<TimerKind>(kind);
    TimerStatistics(r, t);
    const uint32_t percentiles = r.Count(12, "percentile");
    t.percentiles_begin = static_cast<uint32_t>(s->percentiles.size());
    for (uint32_t i = 0; i < percentiles; ++i) {
      const uint32_t index = r.U32();
      const double value = r.F64();
      if (r.ok() && index >= names->size()) {
        r.Fail("percentile name index " + std::to_string(index) + " out of range");
      }
      if (!r.ok()) break;
      s->percentiles.push_back({(*names)[index], value});
    }
    t.percentiles_end = static_cast<uint32_t>(s->percentiles.size());
    const uint32_t buckets = r.Count(16, "bucket");
    t.buckets_begin = static_cast<uint32_t>(s->buckets.size());
    for (uint32_t i = 0; i < buckets; ++i) {
      snapshot::BucketPoint& b = s->buckets.emplace_back();
      r.F64(b.le);
      r.U64(b.count);
    }
    t.buckets_end = static_cast<uint32_t>(s->buckets.size());
    const uint32_t values = r.Count(8, "timer value");
    t.values_begin = static_cast<uint32_t>(s->timer_values.size());
    for (uint32_t i = 0; i < values; ++i) s->timer_values.push_back(r.F64());
    t.values_end = static_cast<uint32_t>(s->timer_values.size());
  });
  r.List(s->timed_counters, kTimedCounterBytes, "timestamped counter",
         [&](auto& c) { TimedCounterFields(r, c); });
  r.List(s->timed_gauges, kTimedGaugeBytes, "timestamped gauge",
         [&](auto& g) { TimedGaugeFields(r, g); });
  return s;
}

}  // namespace

std::string Encode(const State& state) {
  std::string body;
  Writer w(body);
  w.I64(state.written_ns);
  w.List(state.gauges, 0, "", [&](const auto& g) { GaugeFields(w, g); });
  w.List(state.undelivered, 0, "", [&](const UndeliveredFlush& u) {
    w.List(u.backends, 0, "", [&](const std::string& b) { w.Str(b); });
    EncodeSnapshot(*u.snapshot, w);
  });

  std::string out;
  out.reserve(kHeaderBytes + body.size());
  out.append(kMagic);
  Writer h(out);
  h.U32(kVersion);
  h.U32(0);  // reserved
  h.U64(body.size());
  h.U64(XXH3_64bits(body.data(), body.size()));
  out.append(body);
  return out;
}

Result<State> Decode(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes) {
    return Status::Error("truncated: " + std::to_string(bytes.size()) +
                         " bytes, shorter than the header");
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) return Status::Error("not a state file (magic)");
  Reader h(bytes.substr(kMagic.size(), kHeaderBytes - kMagic.size()));
  const uint32_t version = h.U32();
  (void)h.U32();  // reserved
  const auto length = h.Get<uint64_t>();
  const auto checksum = h.Get<uint64_t>();
  if (version != kVersion) {
    return Status::Error("unsupported version " + std::to_string(version) + " (this build reads " +
                         std::to_string(kVersion) + ")");
  }
  const std::string_view body = bytes.substr(kHeaderBytes);
  if (length != body.size()) {
    return Status::Error("length mismatch: the header says " + std::to_string(length) +
                         " body bytes, the file holds " + std::to_string(body.size()) +
                         (length > body.size() ? " (truncated)" : ""));
  }
  if (XXH3_64bits(body.data(), body.size()) != checksum) {
    return Status::Error("checksum mismatch");
  }

  Reader r(body);
  State state;
  r.I64(state.written_ns);
  r.List(state.gauges, kGaugeBytes, "gauge", [&](auto& g) { GaugeFields(r, g); });
  // An undelivered flush takes at least its backend count, the flush's time, seconds and two
  // flags, and its seven list counts.
  r.List(state.undelivered, 4 + 8 + 8 + 2 + 4 * 7, "undelivered flush", [&](UndeliveredFlush& u) {
    r.List(u.backends, 4, "backend name", [&](std::string& b) { b = r.Str(); });
    u.snapshot = DecodeSnapshot(r);
  });
  if (r.ok() && r.left() != 0) r.Fail(std::to_string(r.left()) + " bytes after the body");
  if (!r.ok()) return Status::Error("bad body: " + r.error());
  return state;
}

}  // namespace cstatsd::state
