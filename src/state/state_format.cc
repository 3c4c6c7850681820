#include "state/state_format.h"

#include <xxhash.h>

#include <bit>
#include <cstring>
#include <memory>
#include <unordered_map>

namespace cstatsd::state {
namespace {

static_assert(std::endian::native == std::endian::little, "the format is little-endian");

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
  void Key(const SeriesKeyRef& k) {
    Str(k->name());
    Str(k->tags());
    Str(k->source());
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
  uint64_t U64() { return Get<uint64_t>(); }
  int64_t I64() { return Get<int64_t>(); }
  double F64() { return Get<double>(); }
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
  SeriesKeyRef Key(MetricType type) {
    const std::string_view name = Str(), tags = Str(), source = Str();
    if (!ok()) return {};
    const uint64_t hash = SeriesKey::Hash(type, name, tags, source);
    return SeriesKeyRef::Adopt(SeriesKey::Create(type, name, tags, source, hash));
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
  w.Count(s.counters.size());
  for (const auto& c : s.counters) {
    w.Key(c.key);
    w.I64(c.value);
    w.F64(c.per_second);
    w.F64(c.float_value);
  }
  w.Count(s.gauges.size());
  for (const auto& g : s.gauges) {
    w.Key(g.key);
    w.F64(g.value);
    w.I64(g.last_ns);
  }
  w.Count(s.sets.size());
  for (const auto& st : s.sets) {
    w.Key(st.key);
    w.U64(st.cardinality);
    w.Count(st.members_end - st.members_begin);
    for (const std::string& m : s.MembersOf(st)) w.Str(m);
  }
  w.Count(s.timers.size());
  for (const auto& t : s.timers) {
    w.Key(t.key);
    w.U8(t.histogram ? 1 : 0);
    w.U8(static_cast<uint8_t>(t.kind));
    w.I64(t.count);
    for (double v :
         {t.count_per_second, t.min, t.max, t.mean, t.median, t.stddev, t.sum, t.sum_squares}) {
      w.F64(v);
    }
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
  w.Count(s.timed_counters.size());
  for (const auto& c : s.timed_counters) {
    w.Key(c.key);
    w.I64(c.value);
    w.F64(c.per_second);
    w.I64(c.timestamp);
  }
  w.Count(s.timed_gauges.size());
  for (const auto& g : s.timed_gauges) {
    w.Key(g.key);
    w.F64(g.value);
    w.I64(g.timestamp);
  }
}

std::shared_ptr<const snapshot::FlushSnapshot> DecodeSnapshot(Reader& r) {
  auto s = std::make_shared<snapshot::FlushSnapshot>();
  s->flush_time_ns = r.I64();
  s->flush_seconds = r.F64();
  s->float_counters = r.U8() != 0;
  s->has_raw_values = r.U8() != 0;
  auto names = std::make_shared<std::vector<std::string>>();
  names->resize(r.Count(4, "percentile name"));
  for (auto& n : *names) n = r.Str();
  s->percentile_names = names;

  s->counters.resize(r.Count(kKeyBytes + 24, "counter"));
  for (auto& c : s->counters) {
    c.key = r.Key(MetricType::kCounter);
    c.value = r.I64();
    c.per_second = r.F64();
    c.float_value = r.F64();
  }
  s->gauges.resize(r.Count(kKeyBytes + 16, "gauge"));
  for (auto& g : s->gauges) {
    g.key = r.Key(MetricType::kGauge);
    g.value = r.F64();
    g.last_ns = r.I64();
  }
  s->sets.resize(r.Count(kKeyBytes + 12, "set"));
  for (auto& st : s->sets) {
    st.key = r.Key(MetricType::kSet);
    st.cardinality = r.U64();
    const uint32_t members = r.Count(4, "set member");
    st.members_begin = static_cast<uint32_t>(s->set_members.size());
    for (uint32_t i = 0; i < members; ++i) s->set_members.emplace_back(r.Str());
    st.members_end = static_cast<uint32_t>(s->set_members.size());
  }
  s->timers.resize(r.Count(kKeyBytes + 2 + 8 * 9 + 12, "timer"));
  for (auto& t : s->timers) {
    t.key = r.Key(MetricType::kTimer);
    t.histogram = r.U8() != 0;
    const uint8_t kind = r.U8();
    if (kind > static_cast<uint8_t>(TimerKind::kDistribution)) {
      r.Fail("unknown timer kind " + std::to_string(kind));
    }
    t.kind = static_cast<TimerKind>(kind);
    t.count = r.I64();
    for (double* v : {&t.count_per_second, &t.min, &t.max, &t.mean, &t.median, &t.stddev, &t.sum,
                      &t.sum_squares}) {
      *v = r.F64();
    }
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
      const double le = r.F64();
      s->buckets.push_back({le, r.U64()});
    }
    t.buckets_end = static_cast<uint32_t>(s->buckets.size());
    const uint32_t values = r.Count(8, "timer value");
    t.values_begin = static_cast<uint32_t>(s->timer_values.size());
    for (uint32_t i = 0; i < values; ++i) s->timer_values.push_back(r.F64());
    t.values_end = static_cast<uint32_t>(s->timer_values.size());
    if (!r.ok()) break;
  }
  s->timed_counters.resize(r.Count(kKeyBytes + 24, "timestamped counter"));
  for (auto& c : s->timed_counters) {
    c.key = r.Key(MetricType::kCounter);
    c.value = r.I64();
    c.per_second = r.F64();
    c.timestamp = r.I64();
  }
  s->timed_gauges.resize(r.Count(kKeyBytes + 16, "timestamped gauge"));
  for (auto& g : s->timed_gauges) {
    g.key = r.Key(MetricType::kGauge);
    g.value = r.F64();
    g.timestamp = r.I64();
  }
  return s;
}

}  // namespace

std::string Encode(const State& state) {
  std::string body;
  Writer w(body);
  w.I64(state.written_ns);
  w.Count(state.gauges.size());
  for (const auto& g : state.gauges) {
    w.Key(g.key);
    w.F64(g.value);
    w.I64(g.last_ns);
  }
  w.Count(state.undelivered.size());
  for (const auto& u : state.undelivered) {
    w.Count(u.backends.size());
    for (const auto& b : u.backends) w.Str(b);
    EncodeSnapshot(*u.snapshot, w);
  }

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
  const uint64_t length = h.U64();
  const uint64_t checksum = h.U64();
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
  state.written_ns = r.I64();
  state.gauges.resize(r.Count(kKeyBytes + 16, "gauge"));
  for (auto& g : state.gauges) {
    g.key = r.Key(MetricType::kGauge);
    g.value = r.F64();
    g.last_ns = r.I64();
  }
  state.undelivered.resize(r.Count(4 + 8 + 8 + 2 + 4 * 7, "undelivered flush"));
  for (auto& u : state.undelivered) {
    u.backends.resize(r.Count(4, "backend name"));
    for (auto& b : u.backends) b = r.Str();
    u.snapshot = DecodeSnapshot(r);
    if (!r.ok()) break;
  }
  if (r.ok() && r.left() != 0) r.Fail(std::to_string(r.left()) + " bytes after the body");
  if (!r.ok()) return Status::Error("bad body: " + r.error());
  return state;
}

}  // namespace cstatsd::state
